import type { Rng } from './prng';
import { fastExpNonPositive } from './fast-exp';
import { drawFromAll } from './vocabulary-draws';

/** Per-request decoding knobs, in the API's conventions (0 = greedy, 1 / 0 = off). */
export interface SamplingConfig {
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
}

/** Tokens seen so far (prompt + completion) for the repetition penalty: a set with O(1) adds. */
export class TokenHistory {
  private readonly seen: Uint8Array;
  readonly ids: number[] = [];

  constructor(vocabSize: number) {
    this.seen = new Uint8Array(vocabSize);
  }

  add(id: number): void {
    if (id < 0 || id >= this.seen.length || this.seen[id]) return;
    this.seen[id] = 1;
    this.ids.push(id);
  }
}

/** CTRL-style penalty as in Hugging Face: positive logits divided, negative ones multiplied. */
export function applyRepetitionPenalty(logits: Float32Array, ids: readonly number[], penalty: number): void {
  if (penalty === 1) return;
  for (const id of ids) {
    if (id >= logits.length) continue;
    const l = logits[id];
    logits[id] = l > 0 ? l / penalty : l * penalty;
  }
}

/** Index of the largest logit; the first one on ties (as ONNX ArgMax and transformers.js). */
export function argmax(logits: Float32Array): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/**
 * Picks the next token: repetition penalty, then temperature, top-k and top-p (the order
 * Hugging Face applies them), then a draw from `rng`. Mutates `logits` (penalty only).
 */
export function pickToken(logits: Float32Array, cfg: SamplingConfig, rng: Rng, history?: TokenHistory): number {
  if (history) applyRepetitionPenalty(logits, history.ids, cfg.repetitionPenalty);
  if (cfg.temperature <= 0) return argmax(logits);
  return sampleToken(logits, cfg, rng);
}

/** A sampled draw that keeps every token (no top-k below the vocabulary, no top-p below 1). */
export function drawsFromWholeVocabulary(cfg: SamplingConfig, vocab: number): boolean {
  return cfg.temperature > 0 && (cfg.topK <= 0 || cfg.topK >= vocab) && !(cfg.topP > 0 && cfg.topP < 1);
}

function sampleToken(logits: Float32Array, cfg: SamplingConfig, rng: Rng): number {
  const vocab = logits.length;
  const invT = 1 / cfg.temperature;
  const max = logits[argmax(logits)];
  if (drawsFromWholeVocabulary(cfg, vocab)) return drawFromAll(logits, max, invT, rng);
  const k = cfg.topK > 0 ? Math.min(cfg.topK, vocab) : vocab;
  const topP = cfg.topP > 0 && cfg.topP < 1 ? cfg.topP : 1;
  if (k > SMALL_K) return drawLarge(logits, k, max, invT, topP, rng);
  let head = smallTopK(logits, k, max, invT);
  if (topP < 1) head = prefix(head, nucleusLength(head.weights, topP * head.mass));
  let r = rng() * head.mass;
  for (let j = 0; j < head.ids.length; j++) {
    r -= head.weights[j];
    if (r < 0) return head.ids[j];
  }
  return head.ids[head.ids.length - 1];
}

/** Candidate tokens with weights exp((logit - max) / T) and their sum. */
interface Head {
  ids: number[];
  weights: number[];
  mass: number;
}

const SMALL_K = 256;
/** Tokens this far below the best (in logit / T) weigh < 1e-13 of it: treated as zero. */
const NEGLIGIBLE = 30;

/** Top-k for small k: the k largest logits with their weights exp((logit - max) / T). */
function smallTopK(logits: Float32Array, k: number, max: number, invT: number): Head {
  const { ids, values } = topLogits(logits, k);
  const weights = values.map((v) => Math.exp((v - max) * invT));
  return { ids, weights, mass: weights.reduce((a, b) => a + b, 0) };
}

/**
 * The k largest logits (ties: lower id first), largest first, -Infinity (masked) never: one
 * pass keeping a sorted array, inserting only what beats its minimum. For small k.
 */
export function topLogits(logits: Float32Array, k: number): { ids: number[]; values: number[] } {
  const ids: number[] = [];
  const values: number[] = [];
  if (k <= 0) return { ids, values };
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (v === NEG_INF || (ids.length === k && v <= values[k - 1])) continue;
    let at = ids.length === k ? k - 1 : ids.length;
    while (at > 0 && values[at - 1] < v) at--;
    if (ids.length === k) {
      ids.pop();
      values.pop();
    }
    ids.splice(at, 0, i);
    values.splice(at, 0, v);
  }
  return { ids, values };
}

/** Read once: a global lookup per element is slow where globals are proxied (jest's sandbox). */
const NEG_INF = -Infinity;

function prefix(head: Head, n: number): Head {
  const weights = head.weights.slice(0, n);
  return { ids: head.ids.slice(0, n), weights, mass: weights.reduce((a, b) => a + b, 0) };
}

const BINS_PER_UNIT = 32;
const BIN_COUNT = NEGLIGIBLE * BINS_PER_UNIT + 1;
let scratchWeights = new Float64Array(0);
let scratchOrder = new Int32Array(0);
let scratchBins = new Int32Array(0);

/** Reused across calls (sampling is synchronous): no 50k-entry allocations per token. */
function scratch(vocab: number): void {
  if (scratchWeights.length >= vocab) return;
  scratchWeights = new Float64Array(vocab);
  scratchOrder = new Int32Array(vocab);
  scratchBins = new Int32Array(vocab);
}

/**
 * Top-k (large k) and top-p without sorting the vocabulary: tokens are bucketed by
 * log-probability (a counting sort), buckets are kept whole from the top, and only the bucket
 * where the cut falls is sorted. The draw then walks bucket masses. O(vocab) plus one small sort.
 */
function drawLarge(logits: Float32Array, k: number, max: number, invT: number, topP: number, rng: Rng): number {
  const vocab = logits.length;
  scratch(vocab);
  const w = scratchWeights;
  const bins = scratchBins;
  const binStart = new Int32Array(BIN_COUNT + 1);
  const binMass = new Float64Array(BIN_COUNT);
  let fullMass = 0;
  for (let i = 0; i < vocab; i++) {
    const z = (logits[i] - max) * invT;
    if (!(z >= -NEGLIGIBLE)) {
      w[i] = 0;
      bins[i] = BIN_COUNT; // never kept
      continue;
    }
    const b = (-z * BINS_PER_UNIT) | 0; // z in [-NEGLIGIBLE, 0]: truncation is floor, b < BIN_COUNT
    w[i] = fastExpNonPositive(z);
    fullMass += w[i];
    bins[i] = b;
    binStart[b]++;
    binMass[b] += w[i];
  }
  for (let b = 0, acc = 0; b <= BIN_COUNT; b++) {
    const n = binStart[b];
    binStart[b] = acc;
    acc += n;
  }
  const fill = binStart.slice();
  for (let i = 0; i < vocab; i++) if (bins[i] < BIN_COUNT) scratchOrder[fill[bins[i]]++] = i;

  /** Keeps whole bins while they fit; sorts the bin where the count or mass limit falls. */
  const cut = (limit: number, target: number) => {
    let count = 0;
    let mass = 0;
    let b = 0;
    const partial: number[] = [];
    for (; b < BIN_COUNT && count < limit && mass < target; b++) {
      const n = binStart[b + 1] - binStart[b];
      if (count + n <= limit && mass + binMass[b] < target) {
        count += n;
        mass += binMass[b];
        continue;
      }
      const bin = Array.from(scratchOrder.subarray(binStart[b], binStart[b + 1]));
      bin.sort((x, y) => logits[y] - logits[x] || x - y);
      for (const id of bin) {
        if (count >= limit || mass >= target) break;
        partial.push(id);
        count++;
        mass += w[id];
      }
      break;
    }
    return { wholeBins: b, partial, mass };
  };
  // Hugging Face order: top-k first, then top-p over the renormalised top-k mass.
  const base = topP === 1 ? 0 : k < vocab ? cut(k, Infinity).mass : fullMass;
  const kept = cut(k, topP === 1 ? Infinity : topP * base);

  let r = rng() * kept.mass;
  for (let b = 0; b < kept.wholeBins; b++) {
    if (r >= binMass[b]) {
      r -= binMass[b];
      continue;
    }
    const last = binStart[b + 1] - 1;
    for (let j = binStart[b]; j < last; j++) {
      r -= w[scratchOrder[j]];
      if (r < 0) return scratchOrder[j];
    }
    return scratchOrder[last];
  }
  for (const id of kept.partial) {
    r -= w[id];
    if (r < 0) return id;
  }
  return kept.partial.length ? kept.partial[kept.partial.length - 1] : scratchOrder[binStart[0]];
}

/** How many of the (descending) weights make up `cut` mass; at least one. */
function nucleusLength(weights: number[], cut: number): number {
  let cumulative = 0;
  for (let j = 0; j < weights.length; j++) {
    cumulative += weights[j];
    if (cumulative >= cut) return j + 1;
  }
  return weights.length;
}
