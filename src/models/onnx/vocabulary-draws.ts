/**
 * Draws over the whole vocabulary, one rng() value each, all walking the inverse CDF in id order
 * (so a seed picks the same token whichever of them runs): from logits (block sums of exps),
 * from the graph's probabilities, and from those under a constraint's mask.
 */
import type { Rng } from './prng';
import { fastExp2NonPositive } from './fast-exp';

const LOG2E = Math.LOG2E;

const BLOCK = 512;
let blockMass = new Float64Array(0);

/**
 * A draw over the whole vocabulary (no top-k / top-p): one pass sums exp((logit - max) / T)
 * per block of 512 tokens without storing the weights; the draw then walks the block sums and
 * recomputes the weights of the one block it lands in. Half the memory traffic and a third of
 * the exps of a stored-weights scan: this runs once per row per step, 150k entries on Qwen-size
 * vocabularies.
 */
export function drawFromAll(logits: Float32Array, max: number, invT: number, rng: Rng): number {
  const vocab = logits.length;
  const blocks = Math.ceil(vocab / BLOCK);
  if (blockMass.length < blocks) blockMass = new Float64Array(blocks);
  const mass = blockMass;
  const scale = invT * LOG2E; // exp(z) = 2^(z·log2 e)
  const offset = max * scale;
  let total = 0;
  let lastBlock = 0; // rounding may leave r past every block: land in the last one with mass (masks zero whole blocks)
  for (let b = 0, start = 0; b < blocks; b++, start += BLOCK) {
    const end = start + BLOCK < vocab ? start + BLOCK : vocab;
    let sum = 0;
    for (let i = start; i < end; i++) sum += fastExp2NonPositive(logits[i] * scale - offset);
    mass[b] = sum;
    total += sum;
    if (sum > 0) lastBlock = b;
  }
  let r = rng() * total;
  let b = 0;
  for (; b < lastBlock; b++) {
    if (r < mass[b]) break;
    r -= mass[b];
  }
  const start = b * BLOCK;
  const end = start + BLOCK < vocab ? start + BLOCK : vocab;
  let last = start;
  for (let i = start; i < end; i++) {
    const w = fastExp2NonPositive(logits[i] * scale - offset);
    if (w === 0) continue;
    last = i;
    r -= w;
    if (r < 0) return i;
  }
  return last;
}

/**
 * A draw from probabilities that already include the temperature (the graph's softmax output):
 * the inverse CDF in id order, as drawFromAll walks it, so a seed picks the same token either
 * way up to float rounding. Reads half the vocabulary on average and computes nothing per entry.
 */
export function drawFromProbs(probs: Float32Array, rng: Rng): number {
  const u = rng();
  let r = u;
  for (let i = 0; i < probs.length; i++) {
    r -= probs[i];
    if (r < 0) return i;
  }
  // float32 rounding left the sum below u: draw the same u against the true sum.
  let target = u * (u - r);
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i];
    if (p === 0) continue;
    last = i;
    target -= p;
    if (target < 0) return i;
  }
  return last;
}

/** Below this the allowed mass may have underflowed in float32: the caller draws from logits. */
const MIN_MASKED_MASS = 1e-30;

/**
 * drawFromProbs over the tokens `mask` allows, renormalised: the distribution masking the
 * logits gives. -1 (and no draw taken) when the allowed tokens' probabilities are too small to
 * trust, e.g. a low temperature leaving every allowed token at float32 zero.
 */
export function drawFromMaskedProbs(probs: Float32Array, mask: Uint8Array, rng: Rng): number {
  const n = probs.length < mask.length ? probs.length : mask.length;
  const blocks = Math.ceil(n / BLOCK);
  if (blockMass.length < blocks) blockMass = new Float64Array(blocks);
  const mass = blockMass;
  // One pass of block sums, then the draw walks them and scans the one block it lands in.
  // Multiplying by the 0/1 mask instead of branching on it: masks mix allowed and not at random.
  let total = 0;
  for (let b = 0, start = 0; b < blocks; b++, start += BLOCK) {
    const end = start + BLOCK < n ? start + BLOCK : n;
    let sum = 0;
    for (let i = start; i < end; i++) sum += probs[i] * mask[i];
    mass[b] = sum;
    total += sum;
  }
  if (!(total > MIN_MASKED_MASS)) return -1;
  let r = rng() * total;
  let b = 0;
  while (b < blocks - 1 && r >= mass[b]) {
    r -= mass[b];
    b++;
  }
  const start = b * BLOCK;
  const end = start + BLOCK < n ? start + BLOCK : n;
  for (let i = start; i < end; i++) {
    r -= probs[i] * mask[i]; // a masked token subtracts nothing: r turns negative only at an allowed one
    if (r < 0) return i;
  }
  // Rounding left r at or above zero: the last allowed token with any probability.
  for (let i = n - 1; i >= 0; i--) if (mask[i] && probs[i] > 0) return i;
  return -1;
}
