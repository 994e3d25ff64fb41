import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { onnx } from 'onnx-proto';
import { VARIANT_SUFFIXES } from '../../models/onnx/model-folder';
import { decodeModel, encodeModel } from '../onnx/graph-builder';
import { fp32ModelFile, quantizeModelProto } from '../quantize';
import { moveToExternalData } from './external-data';
import { convertModelToFp16 } from './fp16';
import { type Int4Options, quantizeModelToInt4 } from './int4';

export type WritableDtype = 'fp32' | 'fp16' | 'q8' | 'q4' | 'q4f16';
export const WRITABLE_DTYPES: readonly WritableDtype[] = ['fp32', 'fp16', 'q8', 'q4', 'q4f16'];

export interface VariantOptions extends Int4Options {
  dtype: WritableDtype;
  /** Weights in `<graph>.onnx_data` files instead of inside the graph. */
  externalData?: boolean;
  /** With externalData: split the weights into files of at most this many bytes. */
  maxDataFileBytes?: number;
  /** Graph file name in the onnx/ folder instead of the transformers.js one (a second q4 beside the first). */
  fileName?: string;
}

export interface VariantResult {
  dtype: WritableDtype;
  input: string;
  /** The graph file written. */
  output: string;
  /** The graph plus its external data files. */
  files: string[];
  inputBytes: number;
  /** Graph plus external data. */
  outputBytes: number;
  /** What was converted, for the CLI's report. */
  detail: string;
}

/**
 * Writes `onnx/model{suffix}.onnx` (transformers.js naming) from the folder's fp32 graph:
 * fp16, q8 (dynamic int8, `_quantized`), q4 (MatMulNBits) or q4f16 (fp16 graph with 4-bit
 * weights), optionally with external data. `fp32` with externalData rewrites the fp32 graph itself.
 */
export async function writeVariant(folder: string, opts: VariantOptions): Promise<VariantResult> {
  const input = fp32ModelFile(folder);
  const inputBytes = (await stat(input)).size;
  let model: onnx.IModelProto = decodeModel(await readFile(input));
  let detail: string;
  switch (opts.dtype) {
    case 'fp32':
      detail = 'float32';
      break;
    case 'fp16': {
      const r = convertModelToFp16(model);
      model = r.model;
      detail = `${r.converted} tensors to float16`;
      break;
    }
    case 'q8': {
      const r = quantizeModelProto(model);
      model = r.model;
      detail = `int8: ${r.stats.matmul} MatMul, ${r.stats.gemm} Gemm, ${r.stats.gather} Gather`;
      break;
    }
    case 'q4':
    case 'q4f16': {
      if (opts.dtype === 'q4f16') model = convertModelToFp16(model).model;
      const r = quantizeModelToInt4(model, opts);
      model = r.model;
      detail =
        `4-bit block ${opts.blockSize ?? 32}${opts.asymmetric ? ' asymmetric' : ''}: ${r.stats.matmul} MatMulNBits, ` +
        `${r.stats.gather4} 4-bit Gather, ${r.stats.gather} int8 Gather` +
        (opts.dtype === 'q4f16' ? ', float16 activations' : '');
      break;
    }
    default:
      throw new Error(`cannot write dtype "${String(opts.dtype)}" (one of ${WRITABLE_DTYPES.join(', ')})`);
  }
  const suffix = VARIANT_SUFFIXES[opts.dtype];
  const output = opts.fileName ? join(dirname(input), opts.fileName) : input.replace(/\.onnx$/, `${suffix}.onnx`);
  const written: string[] = [];
  // Stale data files of an earlier write would confuse the loader's size accounting.
  await removeDataFiles(output);
  if (opts.externalData) {
    const ext = moveToExternalData(model, { graphFile: basename(output), maxFileBytes: opts.maxDataFileBytes });
    model = ext.model;
    for (const f of ext.files) written.push(await writeAtomic(join(dirname(output), f.name), f.bytes));
  }
  written.unshift(await writeAtomic(output, encodeModel(model)));
  let outputBytes = 0;
  for (const f of written) outputBytes += (await stat(f)).size;
  return { dtype: opts.dtype, input, output, files: written, inputBytes, outputBytes, detail };
}

async function writeAtomic(path: string, data: Uint8Array): Promise<string> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
  return path;
}

async function removeDataFiles(graph: string): Promise<void> {
  const prefix = `${basename(graph)}_data`;
  for (const f of await readdir(dirname(graph))) {
    if (f === prefix || f.startsWith(`${prefix}_`)) await rm(join(dirname(graph), f), { force: true });
  }
}
