import { readFileSync } from 'node:fs';
import { type onnx } from 'onnx-proto';
import { DT, decodeModel } from './graph-builder';

export interface DenseTensor {
  dims: number[];
  data: Float32Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;
}

const toNumber = (v: number | { toNumber(): number }): number => (typeof v === 'number' ? v : v.toNumber());

/** Reads a TensorProto's values, whether stored as raw bytes or in the typed repeated fields. */
export function tensorToArray(t: onnx.ITensorProto): DenseTensor {
  const dims = (t.dims ?? []).map(toNumber);
  const raw = t.rawData && t.rawData.length ? t.rawData : undefined;
  // Copy into a fresh aligned buffer: decoded rawData is a view into the file (Buffer.slice does not copy).
  const bytes = raw ? new Uint8Array(raw).buffer : undefined;
  switch (t.dataType) {
    case DT.FLOAT:
      return { dims, data: bytes ? new Float32Array(bytes) : Float32Array.from(t.floatData ?? []) };
    case DT.INT64:
      return {
        dims,
        data: bytes
          ? new BigInt64Array(bytes)
          : BigInt64Array.from((t.int64Data ?? []).map((v) => BigInt(toNumber(v)))),
      };
    case DT.INT32:
      return { dims, data: bytes ? new Int32Array(bytes) : Int32Array.from(t.int32Data ?? []) };
    case DT.INT8:
      return { dims, data: bytes ? new Int8Array(bytes) : Int8Array.from(t.int32Data ?? []) };
    case DT.UINT8:
      return { dims, data: bytes ? new Uint8Array(bytes) : Uint8Array.from(t.int32Data ?? []) };
    default:
      throw new Error(`tensor ${t.name}: unsupported data type ${t.dataType}`);
  }
}

export function loadModelProto(path: string): onnx.ModelProto {
  return decodeModel(readFileSync(path));
}

/** All float initializers of a model file, by name. */
export function readFloatInitializers(path: string): Map<string, { dims: number[]; data: Float32Array }> {
  const out = new Map<string, { dims: number[]; data: Float32Array }>();
  for (const t of loadModelProto(path).graph?.initializer ?? []) {
    if (t.dataType !== DT.FLOAT) continue;
    const { dims, data } = tensorToArray(t);
    out.set(t.name ?? '', { dims, data: data as Float32Array });
  }
  return out;
}
