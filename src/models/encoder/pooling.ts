import type { Pooling } from './encoder-folder';

/**
 * One row's vector from the encoder's [B, S, H] output: mean over its real tokens, its first
 * token, or its last real token (rows are right-padded, so that is length - 1).
 */
export function poolRow(
  hidden: Float32Array,
  row: number,
  seqLen: number,
  dim: number,
  length: number,
  mode: Pooling,
): Float32Array {
  const base = row * seqLen * dim;
  if (mode === 'cls') return hidden.slice(base, base + dim);
  if (mode === 'last') return hidden.slice(base + (length - 1) * dim, base + length * dim);
  const out = new Float32Array(dim);
  for (let t = 0; t < length; t++) {
    const off = base + t * dim;
    for (let j = 0; j < dim; j++) out[j] += hidden[off + j];
  }
  for (let j = 0; j < dim; j++) out[j] /= Math.max(length, 1);
  return out;
}

export function l2Norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** In place; a zero vector stays zero (torch's F.normalize uses the same 1e-12 floor). */
export function normalize(v: Float32Array): Float32Array {
  const n = Math.max(l2Norm(v), 1e-12);
  for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

/** Matryoshka: the first `dims` components, re-normalised when the model normalises. */
export function truncateDims(v: Float32Array, dims: number | undefined, renormalize: boolean): Float32Array {
  if (dims === undefined || dims >= v.length) return v;
  const cut = v.slice(0, dims);
  return renormalize ? normalize(cut) : cut;
}

/** OpenAI's base64 form: the float32 values' little-endian bytes. */
export function toBase64(v: Float32Array): string {
  const le = new Float32Array(v); // a copy we own, so its buffer holds exactly these values
  const bytes = new Uint8Array(le.buffer);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
  }
  return Buffer.from(bytes).toString('base64');
}
