import type { ModelSpec } from './spec';

/**
 * A plain float64 forward pass written from the architectures' definitions (not from the graph),
 * used to check the generated ONNX graphs. Weights come from the ONNX file's initializers, so
 * the check covers the graph's wiring. No KV cache: every call recomputes the whole sequence.
 */

type W = Map<string, { dims: number[]; data: Float32Array }>;
type Vec = Float64Array;

export interface ReferenceInputs {
  inputIds: number[][];
  /** Default all ones. */
  attentionMask?: number[][];
  /** Default cumsum(mask) - 1 with padding set to 1 (what the graph derives without position_ids). */
  positionIds?: number[][];
}

function get(w: W, name: string): Float32Array {
  const t = w.get(name);
  if (!t) throw new Error(`reference: weight ${name} missing`);
  return t.data;
}

/** x·W for W stored [in, out] row-major, optionally + bias, over columns [from, from+n). */
function matvec(x: Vec, w: Float32Array, outDim: number, bias?: Float32Array, from = 0, n = outDim): Vec {
  const y = new Float64Array(n);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i];
    const row = i * outDim + from;
    for (let o = 0; o < n; o++) y[o] += xi * w[row + o];
  }
  if (bias) for (let o = 0; o < n; o++) y[o] += bias[from + o];
  return y;
}

function layerNorm(x: Vec, g: Float32Array, b: Float32Array, eps: number): Vec {
  const n = x.length;
  const mean = x.reduce((a, v) => a + v, 0) / n;
  const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / n;
  const inv = 1 / Math.sqrt(variance + eps);
  return x.map((v, i) => (v - mean) * inv * g[i] + b[i]);
}

function rmsNorm(x: Vec, g: Float32Array, eps: number): Vec {
  const ms = x.reduce((a, v) => a + v * v, 0) / x.length;
  const inv = 1 / Math.sqrt(ms + eps);
  return x.map((v, i) => v * inv * g[i]);
}

const geluNew = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
const silu = (v: number) => v / (1 + Math.exp(-v));
const add = (a: Vec, b: Vec) => a.map((v, i) => v + b[i]);

function rope(x: Vec, pos: number, spec: ModelSpec): Vec {
  const d = spec.headDim;
  const half = d / 2;
  const out = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    const angle = pos / Math.pow(spec.ropeTheta, (2 * (i % half)) / d);
    const rot = i < half ? -x[i + half] : x[i - half];
    out[i] = x[i] * Math.cos(angle) + rot * Math.sin(angle);
  }
  return out;
}

/** Attention of one row: q/k/v[s] are [heads·d] vectors. Masked keys are excluded. */
function attend(q: Vec[], k: Vec[], v: Vec[], mask: number[], spec: ModelSpec): Vec[] {
  const { heads, kvHeads, headDim: d } = spec;
  const rep = heads / kvHeads;
  return q.map((qs, s) => {
    const out = new Float64Array(heads * d);
    for (let h = 0; h < heads; h++) {
      const kh = Math.floor(h / rep);
      let allowed = k.map((_, j) => j <= s && mask[j] === 1);
      // A query that sees no key (a pad row) gets uniform weights, as the graph's finite bias does.
      if (!allowed.some(Boolean)) allowed = k.map(() => true);
      const scores = k.map((kj, j) => {
        if (!allowed[j]) return -Infinity;
        let dot = 0;
        for (let t = 0; t < d; t++) dot += qs[h * d + t] * kj[kh * d + t];
        return dot / Math.sqrt(d);
      });
      const max = Math.max(...scores);
      const e = scores.map((x) => Math.exp(x - max));
      const sum = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j < k.length; j++) {
        const p = e[j] / sum;
        for (let t = 0; t < d; t++) out[h * d + t] += p * v[j][kh * d + t];
      }
    }
    return out;
  });
}

function gpt2Row(spec: ModelSpec, w: W, ids: number[], pos: number[], mask: number[]): Vec[] {
  const H = spec.hidden;
  const wte = get(w, 'transformer.wte.weight');
  const wpe = get(w, 'transformer.wpe.weight');
  let x = ids.map((id, s) => Float64Array.from({ length: H }, (_, i) => wte[id * H + i] + wpe[pos[s] * H + i]));
  for (let l = 0; l < spec.layers; l++) {
    const p = `transformer.h.${l}`;
    const ln = (t: Vec, n: string) => layerNorm(t, get(w, `${p}.${n}.weight`), get(w, `${p}.${n}.bias`), spec.normEps);
    const lin = (t: Vec, n: string, out: number, from = 0, cnt = out) =>
      matvec(t, get(w, `${p}.${n}.weight`), out, get(w, `${p}.${n}.bias`), from, cnt);
    const h1 = x.map((t) => ln(t, 'ln_1'));
    const q = h1.map((t) => lin(t, 'attn.c_attn', 3 * H, 0, H));
    const k = h1.map((t) => lin(t, 'attn.c_attn', 3 * H, H, H));
    const v = h1.map((t) => lin(t, 'attn.c_attn', 3 * H, 2 * H, H));
    const a = attend(q, k, v, mask, spec);
    x = x.map((t, s) => add(t, lin(a[s], 'attn.c_proj', H)));
    x = x.map((t) => add(t, lin(lin(ln(t, 'ln_2'), 'mlp.c_fc', spec.intermediate).map(geluNew), 'mlp.c_proj', H)));
  }
  const f = (t: Vec) => layerNorm(t, get(w, 'transformer.ln_f.weight'), get(w, 'transformer.ln_f.bias'), spec.normEps);
  return x.map((t) => head(spec, w, f(t), wte));
}

function llamaRow(spec: ModelSpec, w: W, ids: number[], pos: number[], mask: number[]): Vec[] {
  const { hidden: H, heads: nh, kvHeads: nkv, headDim: d, intermediate: I } = spec;
  const emb = get(w, 'model.embed_tokens.weight');
  let x = ids.map((id) => Float64Array.from(emb.subarray(id * H, id * H + H)));
  const fused = spec.arch === 'phi3';
  const ropeHeads = (t: Vec, n: number, s: number) => {
    const out = new Float64Array(n * d);
    for (let h = 0; h < n; h++) out.set(rope(t.subarray(h * d, h * d + d), pos[s], spec), h * d);
    return out;
  };
  for (let l = 0; l < spec.layers; l++) {
    const p = `model.layers.${l}`;
    const lin = (t: Vec, n: string, out: number, from = 0, cnt = out) =>
      matvec(t, get(w, `${p}.${n}.weight`), out, w.get(`${p}.${n}.bias`)?.data, from, cnt);
    const h1 = x.map((t) => rmsNorm(t, get(w, `${p}.input_layernorm.weight`), spec.normEps));
    const qkvW = (nh + 2 * nkv) * d;
    const q = h1.map((t, s) =>
      ropeHeads(fused ? lin(t, 'self_attn.qkv_proj', qkvW, 0, nh * d) : lin(t, 'self_attn.q_proj', nh * d), nh, s),
    );
    const k = h1.map((t, s) =>
      ropeHeads(
        fused ? lin(t, 'self_attn.qkv_proj', qkvW, nh * d, nkv * d) : lin(t, 'self_attn.k_proj', nkv * d),
        nkv,
        s,
      ),
    );
    const v = h1.map((t) =>
      fused ? lin(t, 'self_attn.qkv_proj', qkvW, (nh + nkv) * d, nkv * d) : lin(t, 'self_attn.v_proj', nkv * d),
    );
    const a = attend(q, k, v, mask, spec);
    x = x.map((t, s) => add(t, lin(a[s], 'self_attn.o_proj', H)));
    x = x.map((t) => {
      const h2 = rmsNorm(t, get(w, `${p}.post_attention_layernorm.weight`), spec.normEps);
      const gate = fused ? lin(h2, 'mlp.gate_up_proj', 2 * I, 0, I) : lin(h2, 'mlp.gate_proj', I);
      const up = fused ? lin(h2, 'mlp.gate_up_proj', 2 * I, I, I) : lin(h2, 'mlp.up_proj', I);
      return add(
        t,
        lin(
          gate.map((g, i) => silu(g) * up[i]),
          'mlp.down_proj',
          H,
        ),
      );
    });
  }
  return x.map((t) => head(spec, w, rmsNorm(t, get(w, 'model.norm.weight'), spec.normEps), emb));
}

function head(spec: ModelSpec, w: W, x: Vec, embedding: Float32Array): Vec {
  if (!spec.tieEmbeddings) return matvec(x, get(w, 'lm_head.weight'), spec.vocabSize);
  const H = spec.hidden;
  return Float64Array.from({ length: spec.vocabSize }, (_, t) => {
    let s = 0;
    for (let i = 0; i < H; i++) s += x[i] * embedding[t * H + i];
    return s;
  });
}

/** Logits [batch][position] → Float64Array(vocab). */
export function referenceForward(spec: ModelSpec, weights: W, inputs: ReferenceInputs): Vec[][] {
  return inputs.inputIds.map((ids, b) => {
    const mask = inputs.attentionMask?.[b] ?? ids.map(() => 1);
    let run = 0;
    const derived = mask.map((m) => (m === 1 ? run++ : 1));
    const pos = inputs.positionIds?.[b] ?? derived;
    return spec.arch === 'gpt2' ? gpt2Row(spec, weights, ids, pos, mask) : llamaRow(spec, weights, ids, pos, mask);
  });
}
