import { onnx } from 'onnx-proto';

/**
 * Moves initializers into external data files beside the graph, as exporters do for models over
 * 2 GB: `<graph>.onnx_data`, then `<graph>.onnx_data_1`, `_2`... when `maxFileBytes` splits them
 * (transformers.js's chunk naming). Small tensors (shapes, scalars) stay inline.
 */
export interface ExternalDataOptions {
  /** The graph's file name, e.g. `model.onnx`: data files are named after it. */
  graphFile: string;
  /** Start a new data file when the current one would exceed this. Default: one file. */
  maxFileBytes?: number;
  /** Tensors smaller than this stay in the graph. Default 1024 bytes. */
  minBytes?: number;
  /** The (first) data file's name instead of `<graphFile>_data` (GenAI writes `model.onnx.data`). */
  dataFileName?: string;
}

export interface ExternalDataFile {
  name: string;
  bytes: Uint8Array;
}

const ALIGN = 4096; // page-aligned offsets let onnxruntime map tensors straight from the file

export function moveToExternalData(
  model: onnx.IModelProto,
  opts: ExternalDataOptions,
): { model: onnx.IModelProto; files: ExternalDataFile[] } {
  const graph = model.graph;
  if (!graph) throw new Error('model has no graph');
  const maxFile = opts.maxFileBytes ?? Number.MAX_SAFE_INTEGER;
  const minBytes = opts.minBytes ?? 1024;
  const chunks: Uint8Array[][] = [[]];
  let offset = 0;
  const first = opts.dataFileName ?? `${opts.graphFile}_data`;
  const fileName = (i: number) => (i === 0 ? first : `${first}_${i}`);
  const initializer = (graph.initializer ?? []).map((t) => {
    const raw = t.rawData;
    if (!raw || raw.length < minBytes) return t;
    const padded = Math.ceil(offset / ALIGN) * ALIGN;
    if (offset > 0 && padded + raw.length > maxFile) {
      chunks.push([]);
      offset = 0;
    } else if (padded > offset) {
      chunks[chunks.length - 1].push(new Uint8Array(padded - offset));
      offset = padded;
    }
    chunks[chunks.length - 1].push(raw);
    const entry = (key: string, value: string | number) => ({ key, value: String(value) });
    const moved: onnx.ITensorProto = {
      ...t,
      rawData: new Uint8Array(0),
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        entry('location', fileName(chunks.length - 1)),
        entry('offset', offset),
        entry('length', raw.length),
      ],
    };
    offset += raw.length;
    return moved;
  });
  const files = chunks.filter((c) => c.length).map((parts, i) => ({ name: fileName(i), bytes: Buffer.concat(parts) }));
  return { model: { ...model, graph: { ...graph, initializer } }, files };
}
