/**
 * Weights onnxruntime memory-maps from the graph file instead of copying (graph-edit.ts applies
 * these to the graph it loads; docs/engine.md, "Memory").
 */
import { onnx } from 'onnx-proto';

/** Smaller tensors stay inline: each mapping costs at least a page and a kernel mapping entry. */
const MIN_MAPPED_BYTES = 64 * 1024;

/**
 * Rewrites inline weights as external data pointing at their own bytes inside the graph file
 * (location = the file, offset = where protobuf stored them). onnxruntime then memory-maps them
 * instead of copying them into its heap: a weight that is prepacked (MatMul, MatMulNBits) is
 * read once and unmapped when its packed copy replaces it, where a heap copy left a hole glibc
 * keeps; a lookup table (Gather) is resident only in the rows actually read. Needs `bytes` to be
 * the file's exact contents (decoded tensors are views into it). Returns how many were mapped.
 */
export function mapInlineWeights(graph: onnx.IGraphProto, bytes: Uint8Array, fileName: string): number {
  let mapped = 0;
  for (const t of graph.initializer ?? []) {
    const raw = t.rawData;
    if (!raw || raw.length < MIN_MAPPED_BYTES || raw.buffer !== bytes.buffer) continue;
    const offset = raw.byteOffset - bytes.byteOffset;
    if (offset < 0 || offset + raw.length > bytes.length) continue;
    t.rawData = new Uint8Array(0);
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.externalData = [
      onnx.StringStringEntryProto.create({ key: 'location', value: fileName }),
      onnx.StringStringEntryProto.create({ key: 'offset', value: String(offset) }),
      onnx.StringStringEntryProto.create({ key: 'length', value: String(raw.length) }),
    ];
    mapped++;
  }
  for (const node of graph.node ?? []) {
    for (const a of node.attribute ?? []) {
      for (const g of [a.g, ...(a.graphs ?? [])]) if (g) mapped += mapInlineWeights(g, bytes, fileName);
    }
  }
  return mapped;
}

const LOOKUP_OPS = new Set(['Gather', 'GatherBlockQuantized']);

/**
 * A tied embedding is read whole by the LM head (to prepack or transpose it) and row by row by
 * the lookup. Sharing one mapping keeps every page the head touched resident for the lookup's
 * sake; a second reference to the same bytes gives the lookup its own mapping, resident only in
 * the rows read, while the head's is unmapped after packing.
 */
export function separateLookupTables(graph: onnx.IGraphProto): void {
  const initializers = (graph.initializer ??= []);
  const names = new Set(initializers.map((t) => t.name ?? ''));
  const external = new Map<string, onnx.ITensorProto>();
  for (const t of initializers)
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) external.set(t.name ?? '', t);
  // Weights some other op reads too: only those are worth a second mapping.
  const readElsewhere = new Set<string>();
  for (const node of graph.node ?? [])
    if (!LOOKUP_OPS.has(node.opType ?? '')) for (const i of node.input ?? []) readElsewhere.add(i);
  const copies = new Map<string, string>();
  for (const node of graph.node ?? []) {
    if (!LOOKUP_OPS.has(node.opType ?? '') || !node.input) continue;
    node.input = node.input.map((name) => {
      const t = external.get(name);
      if (!t || !readElsewhere.has(name)) return name;
      let copy = copies.get(name);
      if (!copy) {
        copy = `${name}/lookup`;
        if (names.has(copy)) return name;
        names.add(copy);
        initializers.push(onnx.TensorProto.create({ ...t, name: copy }));
        copies.set(name, copy);
      }
      return copy;
    });
  }
}
