import { DT, type GraphBuilder, float, int } from '../onnx/graph-builder';
import type { ModelSpec } from '../spec';
import { type Ctx, DIM } from './common';

/**
 * The attention of ONNX Runtime GenAI exports: one com.microsoft `GroupQueryAttention` per layer,
 * fed `seqlens_k` (tokens seen per row − 1) and `total_sequence_length`, both derived from the
 * attention mask inside the graph, with rotary embedding applied by the op from cos/sin caches
 * (positions follow from the lengths, so there is no position_ids input and no left padding).
 */
export interface GqaCtx extends Ctx {
  seqlensK: string;
  totalLength: string;
  cosCache: string;
  sinCache: string;
}

export function declareGqaInputs(g: GraphBuilder, spec: ModelSpec): GqaCtx {
  const inputIds = g.input('input_ids', DT.INT64, [DIM.batch, DIM.seq]);
  const mask = g.input('attention_mask', DT.INT64, [DIM.batch, DIM.total]);
  for (let i = 0; i < spec.layers; i++) {
    for (const kind of ['key', 'value']) {
      g.input(`past_key_values.${i}.${kind}`, DT.FLOAT, [DIM.batch, spec.kvHeads, DIM.past, spec.headDim]);
    }
  }
  const h = 'attn_mask_reformat';
  const sum = g.node('ReduceSum', [mask, g.constI64([1])], { keepdims: int(0) }, h);
  const seqlensK = g.node('Cast', [g.node('Sub', [sum, g.constI64([1], [])], {}, h)], { to: int(DT.INT32) }, h);
  const total = g.node('Shape', [mask], { start: int(1), end: int(2) }, h);
  const totalLength = g.node('Cast', [total], { to: int(DT.INT32) }, h);
  // cos/sin caches [max_positions, head_dim/2], HF's non-interleaved rotate_half layout.
  const half = spec.headDim / 2;
  const cos = new Float32Array(spec.maxPositions * half);
  const sin = new Float32Array(spec.maxPositions * half);
  for (let p = 0; p < spec.maxPositions; p++) {
    for (let j = 0; j < half; j++) {
      const angle = p / Math.pow(spec.ropeTheta, (2 * j) / spec.headDim);
      cos[p * half + j] = Math.cos(angle);
      sin[p * half + j] = Math.sin(angle);
    }
  }
  return {
    g,
    spec,
    inputIds,
    mask,
    positions: '',
    bias: '',
    seqlensK,
    totalLength,
    cosCache: g.init('cos_cache', cos, [spec.maxPositions, half]),
    sinCache: g.init('sin_cache', sin, [spec.maxPositions, half]),
  };
}

/** q [B, S, nh·d], k/v [B, S, nkv·d] (not yet rotated) → [B, S, nh·d]; writes present.{layer}.*. */
export function gqaAttention(ctx: GqaCtx, q: string, k: string, v: string, layer: number): string {
  const { g, spec } = ctx;
  const outs = g.nodeN(
    'GroupQueryAttention',
    [
      q,
      k,
      v,
      `past_key_values.${layer}.key`,
      `past_key_values.${layer}.value`,
      ctx.seqlensK,
      ctx.totalLength,
      ctx.cosCache,
      ctx.sinCache,
    ],
    3,
    {
      num_heads: int(spec.heads),
      kv_num_heads: int(spec.kvHeads),
      do_rotary: int(1),
      rotary_interleaved: int(0),
      scale: float(1 / Math.sqrt(spec.headDim)),
    },
    `layers.${layer}.attn`,
    [`layers.${layer}.attn_out`, `present.${layer}.key`, `present.${layer}.value`],
  );
  for (const kind of ['key', 'value']) {
    g.output(`present.${layer}.${kind}`, DT.FLOAT, [DIM.batch, spec.kvHeads, DIM.total, spec.headDim]);
  }
  g.nodes[g.nodes.length - 1].domain = 'com.microsoft';
  return outs[0];
}
