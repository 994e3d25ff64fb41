import { DT, type GraphBuilder, float, int, ints, valueInfo } from '../onnx/graph-builder';
import type { ModelSpec } from '../spec';
import { uniformTensor } from '../weights';

/** Dimension names as Optimum writes them, so tools reading the metadata see familiar names. */
export const DIM = {
  batch: 'batch_size',
  seq: 'sequence_length',
  past: 'past_sequence_length',
  total: 'past_sequence_length + sequence_length',
} as const;

/** The builder, the spec, and the graph-wide tensors every layer reuses. */
export interface Ctx {
  g: GraphBuilder;
  spec: ModelSpec;
  inputIds: string;
  mask: string;
  /** [B, S] int64: the `position_ids` input, or derived from the mask when the graph has none. */
  positions: string;
  /** [B, 1, S, T] float: 0 where a query may see a key, -1e9 where it may not. */
  bias: string;
}

/** A seeded weight initializer: uniform with the given std (and mean, for norm gains). */
export function weight(ctx: Ctx, name: string, dims: number[], std: number, mean = 0): string {
  const size = dims.reduce((a, b) => a * b, 1);
  return ctx.g.init(name, uniformTensor(ctx.spec.seed, name, size, std, mean), dims);
}

/** Declares the Optimum decoder interface and builds the mask bias and positions. */
export function declareInputs(g: GraphBuilder, spec: ModelSpec): Ctx {
  const inputIds = g.input('input_ids', DT.INT64, [DIM.batch, DIM.seq]);
  const mask = g.input('attention_mask', DT.INT64, [DIM.batch, DIM.total]);
  const positions = spec.positionIds
    ? g.input('position_ids', DT.INT64, [DIM.batch, DIM.seq])
    : derivePositions(g, mask, inputIds);
  for (let i = 0; i < spec.layers; i++) {
    for (const kind of ['key', 'value']) {
      g.input(`past_key_values.${i}.${kind}`, DT.FLOAT, [DIM.batch, spec.kvHeads, DIM.past, spec.headDim]);
    }
  }
  const ctx: Ctx = { g, spec, inputIds, mask, positions, bias: '' };
  ctx.bias = attentionBias(g, mask, inputIds);
  return ctx;
}

/**
 * positions = cumsum(mask) - 1 with padding set to 1, last S columns — what Optimum's gpt2 export
 * computes inside the graph and transformers.js computes outside it, so both agree.
 */
function derivePositions(g: GraphBuilder, mask: string, inputIds: string): string {
  const cum = g.node('CumSum', [mask, g.constI64([1], [])], {}, 'positions');
  const pos = g.node('Sub', [cum, g.constI64([1], [])], {}, 'positions');
  const isPad = g.node('Equal', [mask, g.constI64([0], [])], {}, 'positions');
  const fixed = g.node('Where', [isPad, g.constI64([1], []), pos], {}, 'positions');
  const seq = g.node('Shape', [inputIds], { start: int(1), end: int(2) }, 'positions');
  const start = g.node('Neg', [seq], {}, 'positions');
  return g.node('Slice', [fixed, start, g.constI64([Number.MAX_SAFE_INTEGER]), g.constI64([1])], {}, 'positions');
}

/**
 * Causal mask combined with the padding mask: query i (absolute position past+i) sees key j iff
 * j <= past+i and mask[b, j] = 1. A finite -1e9 (not -inf) keeps fully masked pad rows NaN-free.
 */
function attentionBias(g: GraphBuilder, mask: string, inputIds: string): string {
  const h = 'attn_bias';
  const total = g.node('Shape', [mask], { start: int(1), end: int(2) }, h);
  const seq = g.node('Shape', [inputIds], { start: int(1), end: int(2) }, h);
  const past = g.node('Sub', [total, seq], {}, h);
  const axis0 = g.constI64([0]);
  const totalS = g.node('Squeeze', [total, axis0], {}, h);
  const pastS = g.node('Squeeze', [past, axis0], {}, h);
  const one = g.constI64([1], []);
  const keyIdx = g.node('Range', [g.constI64([0], []), totalS, one], {}, h);
  const queryIdx = g.node('Range', [pastS, totalS, one], {}, h);
  const causal = g.node(
    'LessOrEqual',
    [g.node('Unsqueeze', [keyIdx, g.constI64([0])], {}, h), g.node('Unsqueeze', [queryIdx, g.constI64([1])], {}, h)],
    {},
    h,
  );
  const keep = g.node('Cast', [mask], { to: int(DT.BOOL) }, h);
  const keep4 = g.node('Unsqueeze', [keep, g.constI64([1, 2])], {}, h);
  const allowed = g.node('And', [causal, keep4], {}, h);
  return g.node('Where', [allowed, g.constF32([0]), g.constF32([-1e9])], {}, h);
}

/** y = x·W (+ b), W stored [in, out] as exported MatMul weights are. */
export function linear(ctx: Ctx, x: string, name: string, inDim: number, outDim: number, bias: boolean): string {
  const std = ctx.spec.weightScale / Math.sqrt(inDim);
  let y = ctx.g.node('MatMul', [x, weight(ctx, `${name}.weight`, [inDim, outDim], std)], {}, name);
  if (bias) y = ctx.g.node('Add', [y, weight(ctx, `${name}.bias`, [outDim], 0.1)], {}, name);
  return y;
}

export function layerNorm(ctx: Ctx, x: string, name: string): string {
  const H = ctx.spec.hidden;
  const w = weight(ctx, `${name}.weight`, [H], 0.1, 1);
  const b = weight(ctx, `${name}.bias`, [H], 0.1);
  return ctx.g.node('LayerNormalization', [x, w, b], { axis: int(-1), epsilon: float(ctx.spec.normEps) }, name);
}

/** RMSNorm from primitives (opset 17 has no RMSNormalization). */
export function rmsNorm(ctx: Ctx, x: string, name: string): string {
  const { g } = ctx;
  const w = weight(ctx, `${name}.weight`, [ctx.spec.hidden], 0.1, 1);
  // Pow→ReduceMean→Add→Sqrt→Div→Mul is the pattern onnxruntime fuses into one normalization kernel.
  const ms = g.node(
    'ReduceMean',
    [g.node('Pow', [x, g.constF32([2])], {}, name)],
    { axes: ints([-1]), keepdims: int(1) },
    name,
  );
  const rms = g.node('Sqrt', [g.node('Add', [ms, g.constF32([ctx.spec.normEps])], {}, name)], {}, name);
  return g.node('Mul', [g.node('Div', [x, rms], {}, name), w], {}, name);
}

/** [B, S, n·d] → [B, n, S, d]. */
export function splitHeads(ctx: Ctx, x: string, n: number, hint: string): string {
  const r = ctx.g.node('Reshape', [x, ctx.g.constI64([0, 0, n, ctx.spec.headDim])], {}, hint);
  return ctx.g.node('Transpose', [r], { perm: ints([0, 2, 1, 3]) }, hint);
}

export function gelu(ctx: Ctx, x: string, hint: string): string {
  // gelu_new (tanh form), GPT-2's activation, written the way HF exports it so onnxruntime
  // fuses it into one FastGelu kernel.
  const { g } = ctx;
  const x3 = g.node('Pow', [x, g.constF32([3])], {}, hint);
  const inner = g.node('Add', [x, g.node('Mul', [x3, g.constF32([0.044715])], {}, hint)], {}, hint);
  const t = g.node('Tanh', [g.node('Mul', [inner, g.constF32([Math.sqrt(2 / Math.PI)])], {}, hint)], {}, hint);
  const half = g.node('Mul', [x, g.constF32([0.5])], {}, hint);
  return g.node('Mul', [half, g.node('Add', [t, g.constF32([1])], {}, hint)], {}, hint);
}

export function silu(ctx: Ctx, x: string, hint: string): string {
  return ctx.g.node('Mul', [x, ctx.g.node('Sigmoid', [x], {}, hint)], {}, hint);
}

/**
 * Scaled dot-product attention with the KV cache: q [B, nh, S, d], k/v [B, nkv, S, d] (new tokens).
 * Writes present.{layer}.key/value and returns the merged heads [B, S, nh·d]. Grouped kv heads are
 * handled by viewing q as [B, nkv, rep, S, d] so k/v broadcast instead of being copied.
 */
export function attention(ctx: Ctx, q: string, k: string, v: string, layer: number): string {
  const { g, spec } = ctx;
  const h = `layers.${layer}.attn`;
  const [nh, nkv, d] = [spec.heads, spec.kvHeads, spec.headDim];
  const kFull = g.node('Concat', [`past_key_values.${layer}.key`, k], { axis: int(2) }, h, `present.${layer}.key`);
  const vFull = g.node('Concat', [`past_key_values.${layer}.value`, v], { axis: int(2) }, h, `present.${layer}.value`);
  for (const kind of ['key', 'value']) {
    g.output(`present.${layer}.${kind}`, DT.FLOAT, [DIM.batch, nkv, DIM.total, d]);
  }
  const qs = g.node('Mul', [q, g.constF32([1 / Math.sqrt(d)])], {}, h);
  let ctxOut: string;
  if (nkv === nh) {
    const kT = g.node('Transpose', [kFull], { perm: ints([0, 1, 3, 2]) }, h);
    const scores = g.node('Add', [g.node('MatMul', [qs, kT], {}, h), ctx.bias], {}, h);
    const probs = g.node('Softmax', [scores], { axis: int(-1) }, h);
    ctxOut = g.node('MatMul', [probs, vFull], {}, h);
  } else {
    const rep = nh / nkv;
    const q5 = g.node('Reshape', [qs, g.constI64([0, nkv, rep, -1, d])], {}, h);
    const k5 = g.node('Unsqueeze', [kFull, g.constI64([2])], {}, h);
    const v5 = g.node('Unsqueeze', [vFull, g.constI64([2])], {}, h);
    const kT = g.node('Transpose', [k5], { perm: ints([0, 1, 2, 4, 3]) }, h);
    const bias5 = g.node('Unsqueeze', [ctx.bias, g.constI64([2])], {}, h);
    const scores = g.node('Add', [g.node('MatMul', [q5, kT], {}, h), bias5], {}, h);
    const probs = g.node('Softmax', [scores], { axis: int(-1) }, h);
    ctxOut = g.node('Reshape', [g.node('MatMul', [probs, v5], {}, h), g.constI64([0, nh, -1, d])], {}, h);
  }
  const t = g.node('Transpose', [ctxOut], { perm: ints([0, 2, 1, 3]) }, h);
  return g.node('Reshape', [t, g.constI64([0, 0, nh * d])], {}, h);
}

/** The output head: x·Eᵀ when tied to the embedding, else its own [H, V] weight. */
export function lmHead(ctx: Ctx, x: string, embedding: string): void {
  const { g, spec } = ctx;
  const w = spec.tieEmbeddings
    ? g.node('Transpose', [embedding], { perm: ints([1, 0]) }, 'lm_head')
    : weight(ctx, 'lm_head.weight', [spec.hidden, spec.vocabSize], spec.weightScale / Math.sqrt(spec.hidden));
  g.node('MatMul', [x, w], {}, 'lm_head', 'logits');
  // logits first, then present.*, the order Optimum exports use.
  g.outputs.unshift(valueInfo('logits', DT.FLOAT, [DIM.batch, DIM.seq, spec.vocabSize]));
}
