import * as ort from 'onnxruntime-node';
import type { IndexType, KvType } from './graph-io';

/** An index tensor (ids, mask, positions) in the dtype the graph declares. */
export function indexTensor(type: IndexType, values: ArrayLike<number>, dims: number[]): ort.Tensor {
  if (type === 'int32') return new ort.Tensor('int32', Int32Array.from(values), dims);
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]);
  return new ort.Tensor('int64', data, dims);
}

/** Float16 tensors travel as raw Uint16 bits (Node 20 has no Float16Array). */
export function kvArray(type: KvType, length: number): Float32Array | Uint16Array {
  return type === 'float16' ? new Uint16Array(length) : new Float32Array(length);
}

export function kvTensor(type: KvType, data: Float32Array | Uint16Array, dims: number[]): ort.Tensor {
  return type === 'float16'
    ? new ort.Tensor('float16', data as Uint16Array, dims)
    : new ort.Tensor('float32', data as Float32Array, dims);
}

/**
 * float16 data as raw bits. onnxruntime-common hands out (and turns Uint16Array inputs into)
 * Float16Array views where the runtime has Float16Array (Node 24+): copying one into a
 * Uint16Array would convert values instead of copying bits.
 */
export function halfBits(data: unknown): Uint16Array {
  if (data instanceof Uint16Array) return data;
  const view = data as { buffer: ArrayBuffer; byteOffset: number; length: number };
  return new Uint16Array(view.buffer, view.byteOffset, view.length);
}

/** KV data in the engine's own representation (float16 as raw bits). */
export function kvData(type: KvType, t: ort.Tensor): Float32Array | Uint16Array {
  return type === 'float16' ? halfBits(t.data) : (t.data as Float32Array);
}

/** IEEE half → float, for fp16 exports whose logits come back as raw bits. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** All 65,536 half values as floats (256 kB, built on first use): a lookup per element, no math. */
let halfTable: Float32Array | null = null;

/**
 * float16 logits → float32. Only graphs the load-time edit could not give a float32 logits
 * output reach this; the table keeps it to one load per element.
 */
export function halfRowToFloat(src: Uint16Array, offset: number, length: number): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) halfTable[i] = halfToFloat(i);
  }
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = halfTable[src[offset + i]];
  return out;
}
