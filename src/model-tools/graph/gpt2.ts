import { GraphBuilder, int } from '../onnx/graph-builder';
import type { ModelSpec } from '../spec';
import { attention, declareInputs, gelu, layerNorm, linear, lmHead, splitHeads, weight } from './common';

/**
 * GPT-2: learned positions, pre-LayerNorm blocks, fused c_attn (q|k|v), gelu_new MLP, tied head.
 * Initializer names follow the Hugging Face checkpoint; Conv1D weights are already [in, out].
 */
export function buildGpt2Graph(spec: ModelSpec): GraphBuilder {
  const g = new GraphBuilder();
  const ctx = declareInputs(g, spec);
  const H = spec.hidden;
  const embStd = spec.weightScale / Math.sqrt(H);
  const wte = weight(ctx, 'transformer.wte.weight', [spec.vocabSize, H], embStd);
  const wpe = weight(ctx, 'transformer.wpe.weight', [spec.maxPositions, H], embStd);
  let x = g.node(
    'Add',
    [
      g.node('Gather', [wte, ctx.inputIds], { axis: int(0) }, 'embed'),
      g.node('Gather', [wpe, ctx.positions], { axis: int(0) }, 'embed'),
    ],
    {},
    'embed',
  );

  for (let i = 0; i < spec.layers; i++) {
    const p = `transformer.h.${i}`;
    const h1 = layerNorm(ctx, x, `${p}.ln_1`);
    const qkv = linear(ctx, h1, `${p}.attn.c_attn`, H, 3 * H, true);
    const [q, k, v] = g.nodeN('Split', [qkv], 3, { axis: int(-1) }, `${p}.attn`);
    const heads = (t: string) => splitHeads(ctx, t, spec.heads, `${p}.attn`);
    const a = attention(ctx, heads(q), heads(k), heads(v), i);
    x = g.node('Add', [x, linear(ctx, a, `${p}.attn.c_proj`, H, H, true)], {}, p);
    const h2 = layerNorm(ctx, x, `${p}.ln_2`);
    const m = gelu(ctx, linear(ctx, h2, `${p}.mlp.c_fc`, H, spec.intermediate, true), `${p}.mlp`);
    x = g.node('Add', [x, linear(ctx, m, `${p}.mlp.c_proj`, spec.intermediate, H, true)], {}, p);
  }
  lmHead(ctx, layerNorm(ctx, x, 'transformer.ln_f'), wte);
  return g;
}
