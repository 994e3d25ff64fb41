import { GraphBuilder, int } from '../onnx/graph-builder';
import type { ModelSpec } from '../spec';
import { declareGqaInputs, gqaAttention } from './gqa';
import { type Ctx, attention, declareInputs, linear, lmHead, rmsNorm, silu, splitHeads, weight } from './common';

/** cos/sin tables [B, 1, S, d] for the positions, HF layout (frequencies repeated twice). */
function ropeTables(ctx: Ctx): { cos: string; sin: string } {
  const { g, spec } = ctx;
  const half = spec.headDim / 2;
  const inv = Float32Array.from({ length: half }, (_, j) => 1 / Math.pow(spec.ropeTheta, (2 * j) / spec.headDim));
  const invFreq = g.init('rope.inv_freq', inv, [half]);
  const pos = g.node(
    'Unsqueeze',
    [g.node('Cast', [ctx.positions], { to: int(1) }, 'rope'), g.constI64([-1])],
    {},
    'rope',
  );
  const freqs = g.node('Mul', [pos, invFreq], {}, 'rope');
  const emb = g.node('Concat', [freqs, freqs], { axis: int(-1) }, 'rope');
  const u = (t: string) => g.node('Unsqueeze', [t, g.constI64([1])], {}, 'rope');
  return { cos: u(g.node('Cos', [emb], {}, 'rope')), sin: u(g.node('Sin', [emb], {}, 'rope')) };
}

/** x·cos + rotate_half(x)·sin, rotate_half(x) = [-x2, x1]. */
function applyRope(ctx: Ctx, x: string, t: { cos: string; sin: string }, hint: string): string {
  const { g } = ctx;
  const [x1, x2] = g.nodeN('Split', [x], 2, { axis: int(-1) }, hint);
  const rot = g.node('Concat', [g.node('Neg', [x2], {}, hint), x1], { axis: int(-1) }, hint);
  return g.node('Add', [g.node('Mul', [x, t.cos], {}, hint), g.node('Mul', [rot, t.sin], {}, hint)], {}, hint);
}

/**
 * LLaMA family: RMSNorm, RoPE, grouped kv heads, SwiGLU. qwen2 adds q/k/v biases; mistral is the
 * same graph; phi3 fuses q|k|v into qkv_proj and gate|up into gate_up_proj.
 */
export function buildLlamaGraph(spec: ModelSpec): GraphBuilder {
  const g = new GraphBuilder();
  const gqa = spec.groupQueryAttentionOp ? declareGqaInputs(g, spec) : null;
  const ctx = gqa ?? declareInputs(g, spec);
  const H = spec.hidden;
  const [nh, nkv, d, I] = [spec.heads, spec.kvHeads, spec.headDim, spec.intermediate];
  const fused = spec.arch === 'phi3';
  const embed = weight(ctx, 'model.embed_tokens.weight', [spec.vocabSize, H], spec.weightScale / Math.sqrt(H));
  let x = g.node('Gather', [embed, ctx.inputIds], { axis: int(0) }, 'embed');
  const rope = gqa ? null : ropeTables(ctx);

  for (let i = 0; i < spec.layers; i++) {
    const p = `model.layers.${i}`;
    const h1 = rmsNorm(ctx, x, `${p}.input_layernorm`);
    let q: string, k: string, v: string;
    if (fused) {
      const qkv = linear(ctx, h1, `${p}.self_attn.qkv_proj`, H, (nh + 2 * nkv) * d, false);
      const sizes = g.constI64([nh * d, nkv * d, nkv * d]);
      [q, k, v] = g.nodeN('Split', [qkv, sizes], 3, { axis: int(-1) }, `${p}.self_attn`);
    } else {
      q = linear(ctx, h1, `${p}.self_attn.q_proj`, H, nh * d, spec.qkvBias);
      k = linear(ctx, h1, `${p}.self_attn.k_proj`, H, nkv * d, spec.qkvBias);
      v = linear(ctx, h1, `${p}.self_attn.v_proj`, H, nkv * d, spec.qkvBias);
    }
    const hint = `${p}.self_attn`;
    let a: string;
    if (gqa) {
      a = gqaAttention(gqa, q, k, v, i);
    } else {
      const qh = applyRope(ctx, splitHeads(ctx, q, nh, hint), rope!, hint);
      const kh = applyRope(ctx, splitHeads(ctx, k, nkv, hint), rope!, hint);
      a = attention(ctx, qh, kh, splitHeads(ctx, v, nkv, hint), i);
    }
    x = g.node('Add', [x, linear(ctx, a, `${p}.self_attn.o_proj`, nh * d, H, false)], {}, p);

    const h2 = rmsNorm(ctx, x, `${p}.post_attention_layernorm`);
    let gate: string, up: string;
    if (fused) {
      [gate, up] = g.nodeN(
        'Split',
        [linear(ctx, h2, `${p}.mlp.gate_up_proj`, H, 2 * I, false)],
        2,
        { axis: int(-1) },
        `${p}.mlp`,
      );
    } else {
      gate = linear(ctx, h2, `${p}.mlp.gate_proj`, H, I, false);
      up = linear(ctx, h2, `${p}.mlp.up_proj`, H, I, false);
    }
    const m = g.node('Mul', [silu(ctx, gate, `${p}.mlp`), up], {}, `${p}.mlp`);
    x = g.node('Add', [x, linear(ctx, m, `${p}.mlp.down_proj`, I, H, false)], {}, p);
  }
  lmHead(ctx, rmsNorm(ctx, x, 'model.norm'), embed);
  return g;
}
