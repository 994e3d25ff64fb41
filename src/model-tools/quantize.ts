import { existsSync, statSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import {
  type AttrValue,
  DT,
  decodeModel,
  encodeModel,
  int,
  ints,
  makeTensor,
  removeDead,
  toAttribute,
} from './onnx/graph-builder';
import { tensorToArray } from './onnx/tensor-io';

/**
 * Dynamic int8 quantization in plain TypeScript (what onnxruntime's Python `quantize_dynamic`
 * does): constant weights become symmetric int8 with one scale per output channel, activations
 * are quantized at run time.
 *   MatMul(A, W)           → DynamicQuantizeLinear(A) → MatMulInteger(Aq, Wq, Azp) → Cast → ×(Ascale·Wscale)
 *   MatMul(A, Transpose(E)) (tied head) and Gemm(A, B, C) likewise, plus + C for Gemm
 *   Gather(E, ids)         → Gather(Eq, ids) → Cast → ×Gather(Escale, ids)   (embeddings)
 */
export interface QuantizeStats {
  matmul: number;
  gemm: number;
  gather: number;
}

type Tensor = onnx.ITensorProto;
type Node = onnx.INodeProto;

interface QuantWeight {
  q: string;
  /** One scale per output channel, [N]. */
  scale: string;
  /** The same scales as [N, 1], for gathered rows. */
  scaleCol?: string;
}

function attr(node: Node, name: string): number | undefined {
  const a = node.attribute?.find((x) => x.name === name);
  if (!a) return undefined;
  return a.type === onnx.AttributeProto.AttributeType.FLOAT ? (a.f ?? 0) : Number(a.i ?? 0);
}

const isPlainTranspose = (n: Node | undefined): boolean => {
  if (n?.opType !== 'Transpose') return false;
  const perm = n.attribute?.find((x) => x.name === 'perm')?.ints?.map(Number);
  return !perm || (perm[0] === 1 && perm[1] === 0);
};

/**
 * How weights are stored. MatMulInteger multiplies uint8 activations by the weights; on x86 CPUs
 * without VNNI the uint8×int8 kernel sums pairs of products in int16 and saturates with full-range
 * int8 weights (measured: errors of ~1.0 on outputs of rms 1.6). Safe choices: `s7` (int8 limited
 * to ±63, onnxruntime's `reduce_range`; the default, and the fast kernel) or `u8` (uint8 with zero
 * point 128: a bit more precise, but a slower kernel). `s8` is full-range int8, for VNNI CPUs only.
 */
export type WeightMode = 'u8' | 's7' | 's8';

/**
 * Symmetric quantization per channel. `perRow` true: channels are the rows of [N, K] (an
 * embedding or a transposed weight); false: the columns of [K, N] (a MatMul weight).
 */
function quantizeMatrix(data: Float32Array, rows: number, cols: number, perRow: boolean, mode: WeightMode) {
  const qmax = mode === 's7' ? 63 : 127;
  const offset = mode === 'u8' ? 128 : 0;
  const channels = perRow ? rows : cols;
  const scale = new Float32Array(channels);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const ch = perRow ? r : c;
      scale[ch] = Math.max(scale[ch], Math.abs(data[r * cols + c]));
    }
  }
  for (let ch = 0; ch < channels; ch++) scale[ch] = scale[ch] > 0 ? scale[ch] / qmax : 1;
  const q = mode === 'u8' ? new Uint8Array(data.length) : new Int8Array(data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = Math.round(data[r * cols + c] / scale[perRow ? r : c]);
      q[r * cols + c] = Math.max(-qmax, Math.min(qmax, v)) + offset;
    }
  }
  return { q, scale };
}

export function quantizeModelProto(
  model: onnx.IModelProto,
  mode: WeightMode = 's7',
): { model: onnx.IModelProto; stats: QuantizeStats } {
  const graph = model.graph;
  if (!graph) throw new Error('model has no graph');
  const inits = new Map<string, Tensor>((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const producer = new Map<string, Node>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  const newInits: Tensor[] = [];
  const cache = new Map<string, QuantWeight>();
  const stats: QuantizeStats = { matmul: 0, gemm: 0, gather: 0 };

  const float2d = (name: string | undefined): Tensor | undefined => {
    const t = name ? inits.get(name) : undefined;
    if (!t || t.dataType !== DT.FLOAT || (t.dims ?? []).length !== 2) return undefined;
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL)
      throw new Error(`${name}: external data is not supported`);
    return t;
  };
  const quantized = (t: Tensor, perRow: boolean): QuantWeight => {
    const key = `${t.name}|${perRow}`;
    let qw = cache.get(key);
    if (!qw) {
      const { dims, data } = tensorToArray(t);
      const { q, scale } = quantizeMatrix(data as Float32Array, dims[0], dims[1], perRow, mode);
      const base = `${t.name}_quantized${perRow ? '_rows' : ''}`;
      qw = { q: base, scale: `${base}_scale` };
      newInits.push(makeTensor(qw.q, q, dims), makeTensor(qw.scale, scale, [scale.length]));
      if (perRow) {
        qw.scaleCol = `${base}_scale_col`;
        newInits.push(makeTensor(qw.scaleCol, scale, [scale.length, 1]));
      }
      cache.set(key, qw);
    }
    return qw;
  };

  const out: Node[] = [];
  let counter = 0;
  const zp128 = () => {
    if (!newInits.some((t) => t.name === 'quant_zero_point_128')) {
      newInits.push(
        makeTensor('quant_zero_point_128', Uint8Array.of(128), []),
        makeTensor('quant_128f', Float32Array.of(128), []),
      );
    }
    return 'quant_zero_point_128';
  };
  const emit = (op: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}) => {
    out.push({
      name: `/quant/${op}_${counter++}`,
      opType: op,
      input: inputs,
      output: outputs,
      attribute: Object.entries(attrs).map(([name, a]) => toAttribute(name, a)),
    });
  };
  /** y = A·Wq (Wq int8 [K, N]) rescaled per column. */
  const integerMatMul = (a: string, wq: string, scale: string, y: string, extraScale = 1) => {
    const id = counter;
    const [aq, as, azp] = [`${y}_aq_${id}`, `${y}_ascale_${id}`, `${y}_azp_${id}`];
    emit('DynamicQuantizeLinear', [a], [aq, as, azp]);
    emit('MatMulInteger', mode === 'u8' ? [aq, wq, azp, zp128()] : [aq, wq, azp], [`${y}_int32_${id}`]);
    emit('Cast', [`${y}_int32_${id}`], [`${y}_f_${id}`], { to: int(DT.FLOAT) });
    emit('Mul', [as, scale], [`${y}_scale_${id}`]);
    let s = `${y}_scale_${id}`;
    if (extraScale !== 1) {
      newInits.push(makeTensor(`${y}_alpha_${id}`, Float32Array.of(extraScale), []));
      emit('Mul', [s, `${y}_alpha_${id}`], [`${s}_alpha`]);
      s = `${s}_alpha`;
    }
    emit('Mul', [`${y}_f_${id}`, s], [y]);
  };
  const transposed = (q: string) => {
    const t = `${q}_T`;
    if (!out.some((n) => n.output?.[0] === t)) emit('Transpose', [q], [t], { perm: ints([1, 0]) });
    return t;
  };

  for (const node of graph.node ?? []) {
    const [in0, in1, in2] = node.input ?? [];
    const y = node.output?.[0] ?? '';
    if (node.opType === 'MatMul') {
      const w = float2d(in1);
      const tp = in1 ? producer.get(in1) : undefined;
      const tw = isPlainTranspose(tp) ? float2d(tp?.input?.[0]) : undefined;
      if (w) {
        const qw = quantized(w, false);
        integerMatMul(in0, qw.q, qw.scale, y);
        stats.matmul++;
        continue;
      }
      if (tw) {
        const qw = quantized(tw, true);
        integerMatMul(in0, transposed(qw.q), qw.scale, y);
        stats.matmul++;
        continue;
      }
    } else if (node.opType === 'Gemm' && !attr(node, 'transA')) {
      const b = float2d(in1);
      if (b) {
        const transB = !!attr(node, 'transB');
        const qw = quantized(b, transB);
        const yMul = in2 ? `${y}_nobias` : y;
        integerMatMul(in0, transB ? transposed(qw.q) : qw.q, qw.scale, yMul, attr(node, 'alpha') ?? 1);
        if (in2) {
          let c = in2;
          const beta = attr(node, 'beta') ?? 1;
          if (beta !== 1) {
            newInits.push(makeTensor(`${y}_beta`, Float32Array.of(beta), []));
            emit('Mul', [in2, `${y}_beta`], [`${y}_c`]);
            c = `${y}_c`;
          }
          emit('Add', [yMul, c], [y]);
        }
        stats.gemm++;
        continue;
      }
    } else if (node.opType === 'Gather' && !attr(node, 'axis')) {
      const e = float2d(in0);
      if (e) {
        const qw = quantized(e, true);
        emit('Gather', [qw.q, in1], [`${y}_q`], { axis: int(0) });
        emit('Cast', [`${y}_q`], [mode === 'u8' ? `${y}_f128` : `${y}_f`], { to: int(DT.FLOAT) });
        if (mode === 'u8') {
          zp128();
          emit('Sub', [`${y}_f128`, 'quant_128f'], [`${y}_f`]);
        }
        emit('Gather', [qw.scaleCol ?? '', in1], [`${y}_s`], { axis: int(0) });
        emit('Mul', [`${y}_f`, `${y}_s`], [y]);
        stats.gather++;
        continue;
      }
    }
    out.push(node);
  }

  const initializers = [...(graph.initializer ?? []), ...newInits];
  const kept = removeDead(
    out,
    initializers,
    (graph.output ?? []).map((o) => o.name ?? ''),
  );
  return {
    model: { ...model, graph: { ...graph, node: kept.nodes, initializer: kept.initializers } },
    stats,
  };
}

export interface QuantizeFolderResult extends QuantizeStats {
  input: string;
  output: string;
  inputBytes: number;
  outputBytes: number;
}

/** The fp32 ONNX file of a model folder (new or legacy name). */
export function fp32ModelFile(folder: string): string {
  for (const f of ['onnx/model.onnx', 'onnx/decoder_model_merged.onnx']) {
    if (existsSync(join(folder, f))) return join(folder, f);
  }
  throw new Error(`${folder}: no onnx/model.onnx or onnx/decoder_model_merged.onnx`);
}

/** Writes onnx/model_quantized.onnx (or decoder_model_merged_quantized.onnx) next to the fp32 file. */
export async function quantizeModelFolder(folder: string, mode: WeightMode = 's7'): Promise<QuantizeFolderResult> {
  const input = fp32ModelFile(folder);
  const { model, stats } = quantizeModelProto(decodeModel(await readFile(input)), mode);
  if (stats.matmul + stats.gemm === 0) throw new Error(`${input}: no MatMul/Gemm with constant weights to quantize`);
  const output = input.replace(/\.onnx$/, '_quantized.onnx');
  const tmp = `${output}.tmp-${process.pid}`;
  await writeFile(tmp, encodeModel(model));
  await rename(tmp, output);
  return { input, output, inputBytes: statSync(input).size, outputBytes: statSync(output).size, ...stats };
}
