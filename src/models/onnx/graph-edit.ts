import { onnx } from 'onnx-proto';
import { ARGMAX_OUTPUT, LOGITS_FLOAT32, WANT_ARGMAX_INPUT } from './graph-io';
import { addSamplingProbs, gated } from './sampling-outputs';
import { mapInlineWeights, separateLookupTables } from './weight-mapping';

/** Ops that act on each position independently, so slicing before them equals slicing after. */
const PER_POSITION_OPS = new Set(['Add', 'Mul', 'Div', 'Sub', 'Cast', 'Identity', 'Tanh']);
const SLICED_HIDDEN = 'last_position_hidden';
/** The change log entry for the LM-head slice (the runner relies on it for logits shapes). */
export const LAST_POSITION_ONLY = 'logits for the last position only';
/** The change log entry for the sampling-probabilities output. */

/** Ops that quantize activations with one scale per tensor: in a batch, rows change each other. */
const PER_TENSOR_ACTIVATION_QUANT = new Set(['DynamicQuantizeLinear', 'DynamicQuantizeMatMul', 'MatMulIntegerToFloat']);

/** Attention ops that take sequence lengths instead of a mask: they assume no left padding. */
const LENGTH_BASED_ATTENTION = new Set(['GroupQueryAttention']);

export interface EditedGraph {
  bytes: Uint8Array;
  /** What the decoding edit changed, for the load log (empty when only weights were mapped). */
  changes: string[];
}

export interface GraphAnalysis {
  /** Batch rows influence each other's results (dynamic per-tensor quantization). */
  rowsInteract: boolean;
  /** The graph to load as bytes (decoding edit and/or mapped weights), or null: load the file as is. */
  edited: EditedGraph | null;
  /** External data files the graph's weights live in (relative to the graph's folder). */
  externalFiles: string[];
  /** GroupQueryAttention derives positions from lengths: rows cannot be left-padded. */
  noPadding: boolean;
  /** Inline weights pointed at their bytes in the graph file (see mapInlineWeights). */
  mappedWeights: number;
}

/**
 * Reads what the session metadata cannot tell, and applies the decoding edit when asked.
 * With `mapFrom` (the graph's file name in its folder, which `bytes` were read from), inline
 * weights become references into that file; `edited` then holds bytes even when the decoding
 * edit changed nothing.
 */
export function analyzeGraph(bytes: Uint8Array, edit: boolean, mapFrom?: string): GraphAnalysis {
  const model = onnx.ModelProto.decode(bytes);
  const rowsInteract = model.graph ? usesOps(model.graph, PER_TENSOR_ACTIVATION_QUANT) : false;
  const noPadding = model.graph ? usesOps(model.graph, LENGTH_BASED_ATTENTION) : false;
  const externalFiles = [
    ...new Set(
      (model.graph?.initializer ?? []).flatMap((t) =>
        (t.externalData ?? []).filter((e) => e.key === 'location').map((e) => e.value ?? ''),
      ),
    ),
  ];
  const changes = edit ? editGraphForDecoding(model) : [];
  const mappedWeights = mapFrom && model.graph ? mapInlineWeights(model.graph, bytes, mapFrom) : 0;
  if (mappedWeights && model.graph) separateLookupTables(model.graph);
  const edited = changes.length || mappedWeights ? { bytes: onnx.ModelProto.encode(model).finish(), changes } : null;
  return { rowsInteract, noPadding, externalFiles, edited, mappedWeights };
}

function usesOps(graph: onnx.IGraphProto, ops: Set<string>): boolean {
  return (graph.node ?? []).some(
    (node) =>
      ops.has(node.opType ?? '') ||
      // merged decoders keep the model inside If branches
      (node.attribute ?? []).some((a) => (a.g && usesOps(a.g, ops)) || (a.graphs ?? []).some((g) => usesOps(g, ops))),
  );
}

/**
 * Load-time graph edit for speed, in place; returns what changed (nothing when the graph does
 * not fit the pattern):
 *  - slices the hidden states to the last position before the LM head, so prefill projects one
 *    position onto the vocabulary instead of all of them (with a 50k vocabulary that projection
 *    dominates small models);
 *  - adds an ArgMax output, so greedy rows fetch one int64 instead of a vocabulary of floats.
 * The caller validates the result with a real forward pass before trusting it.
 */
function editGraphForDecoding(model: onnx.ModelProto): string[] {
  const graph = model.graph;
  if (!graph?.node) return [];
  const opset = model.opsetImport?.find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!opset || Number(opset.version) < 13) return [];

  const producer = new Map<string, onnx.INodeProto>();
  for (const node of graph.node) for (const out of node.output ?? []) producer.set(out, node);
  const activations = activationValues(graph);

  const { head, downstream } = findLmHead(producer, activations);
  const changes: string[] = [];
  if (head) {
    const hidden = head.input[0];
    const initializers = (graph.initializer ??= []);
    initializers.push(int64Tensor('last_position_starts', [-1n]), int64Tensor('last_position_ends', [2n ** 62n]));
    initializers.push(int64Tensor('last_position_axes', [1n]));
    const slice = onnx.NodeProto.create({
      name: 'last_position_slice',
      opType: 'Slice',
      input: [hidden, 'last_position_starts', 'last_position_ends', 'last_position_axes'],
      output: [SLICED_HIDDEN],
    });
    head.input[0] = SLICED_HIDDEN;
    graph.node.splice(graph.node.indexOf(head.node), 0, slice);
    downstream.push(...(head.node.output ?? []));
    // Declared intermediate shapes along the edited path still say "sequence_length": drop them.
    graph.valueInfo = (graph.valueInfo ?? []).filter((v) => !downstream.includes(v.name ?? ''));
    const logitsOut = graph.output?.find((o) => o.name === 'logits');
    const dims = logitsOut?.type?.tensorType?.shape?.dim;
    if (dims && dims.length === 3) dims[1] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'logits_positions' });
    changes.push(LAST_POSITION_ONLY);
  }

  const logitsOut = graph.output?.find((o) => o.name === 'logits');
  let floatLogits = 'logits';
  if (logitsOut?.type?.tensorType?.elemType === onnx.TensorProto.DataType.FLOAT16) {
    // float16 logits: one Cast in the graph instead of a half→float loop in JS for every row.
    floatLogits = LOGITS_FLOAT32;
    graph.node.push(
      onnx.NodeProto.create({
        name: 'logits_to_float32',
        opType: 'Cast',
        input: ['logits'],
        output: [LOGITS_FLOAT32],
        attribute: [
          onnx.AttributeProto.create({
            name: 'to',
            type: onnx.AttributeProto.AttributeType.INT,
            i: onnx.TensorProto.DataType.FLOAT,
          }),
        ],
      }),
    );
    const dims = logitsOut.type.tensorType.shape?.dim ?? [];
    (graph.output ??= []).push(
      onnx.ValueInfoProto.create({
        name: LOGITS_FLOAT32,
        type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims } } },
      }),
    );
    changes.push('float32 logits output');
  }
  if (floatLogits !== 'logits' || logitsOut?.type?.tensorType?.elemType === onnx.TensorProto.DataType.FLOAT) {
    const argmax = onnx.NodeProto.create({
      name: 'next_token_argmax_node',
      opType: 'ArgMax',
      input: [floatLogits],
      output: [ARGMAX_OUTPUT],
      attribute: [
        onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 2 }),
        onnx.AttributeProto.create({ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 }),
      ],
    });
    // With the probabilities beside it, each is computed only in the passes that fetch it.
    graph.node.push(head ? gated(graph, WANT_ARGMAX_INPUT, [argmax], onnx.TensorProto.DataType.INT64, 2) : argmax);
    (graph.output ??= []).push(
      onnx.ValueInfoProto.create({
        name: ARGMAX_OUTPUT,
        type: {
          tensorType: {
            elemType: onnx.TensorProto.DataType.INT64,
            shape: { dim: [{ dimParam: 'batch_size' }, { dimParam: 'logits_positions' }] },
          },
        },
      }),
    );
    changes.push('argmax output');
    // Without the slice, a prefill would normalise every position's vocabulary.
    if (head) changes.push(addSamplingProbs(graph, floatLogits));
  }
  return changes;
}

function int64Tensor(name: string, values: bigint[]): onnx.TensorProto {
  const raw = new Uint8Array(new BigInt64Array(values).buffer);
  return onnx.TensorProto.create({
    name,
    dims: [values.length],
    dataType: onnx.TensorProto.DataType.INT64,
    rawData: raw,
  });
}

/**
 * The LM head: walking back from `logits` over per-position ops, a MatMul of activations by
 * weights. Anything else (quantized heads, Gemm on flattened rows, If branches) → null.
 */
function findLmHead(
  producer: Map<string, onnx.INodeProto>,
  activations: Set<string>,
): { head: { node: onnx.INodeProto; input: string[] } | null; downstream: string[] } {
  const downstream: string[] = [];
  let node = producer.get('logits');
  while (node && PER_POSITION_OPS.has(node.opType ?? '')) {
    const live = (node.input ?? []).filter((name) => activations.has(name));
    if (live.length !== 1) return { head: null, downstream };
    downstream.push(...(node.output ?? []));
    node = producer.get(live[0]);
  }
  // MatMulNBits quantizes activations per row (per block of each row), so slicing rows first is exact.
  const nbits = node?.opType === 'MatMulNBits' && node.domain === 'com.microsoft';
  if (nbits && node?.input && node.input.slice(1).every((i) => !i || !activations.has(i))) {
    return { head: { node, input: node.input }, downstream };
  }
  if (node?.opType === 'MatMul' && node.input?.length === 2 && !activations.has(node.input[1])) {
    return { head: { node, input: node.input }, downstream };
  }
  return { head: null, downstream };
}

/**
 * Values that depend on a graph input (activations) rather than only on weights. ONNX requires
 * nodes in topological order, so one forward pass settles it.
 */
function activationValues(graph: onnx.IGraphProto): Set<string> {
  const constants = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  // Old IR versions also list initializers as inputs: those are weights, not activations.
  const live = new Set((graph.input ?? []).map((i) => i.name ?? '').filter((n) => !constants.has(n)));
  for (const node of graph.node ?? []) {
    if ((node.input ?? []).some((name) => live.has(name))) for (const out of node.output ?? []) live.add(out);
  }
  return live;
}
