/**
 * The sampling outputs the load-time graph edit (graph-edit.ts) adds beside the logits: the
 * probabilities at a per-row temperature, and gates so a pass computes only what it fetches.
 */
import { onnx } from 'onnx-proto';
import { INV_TEMPERATURE_INPUT, PROBS_OUTPUT, WANT_PROBS_INPUT } from './graph-io';

/** The change log entry for the sampling-probabilities output. */
const SAMPLING_PROBS = 'sampling probabilities output';

/**
 * Adds softmax(logits · inverse temperature) as an output, with the temperature per row as a new
 * input (every pass feeds it): a plain sampled row then draws from probabilities onnxruntime
 * computed with vectorized exps on its threads, instead of 150k exps in JS per row and step.
 */
export function addSamplingProbs(graph: onnx.IGraphProto, floatLogits: string): string {
  (graph.input ??= []).push(
    onnx.ValueInfoProto.create({
      name: INV_TEMPERATURE_INPUT,
      type: {
        tensorType: {
          elemType: onnx.TensorProto.DataType.FLOAT,
          shape: { dim: [{ dimParam: 'batch_size' }, { dimValue: 1 }, { dimValue: 1 }] },
        },
      },
    }),
  );
  const scaled = 'sampling_scaled_logits';
  const nodes = [
    onnx.NodeProto.create({
      name: 'sampling_temperature',
      opType: 'Mul',
      input: [floatLogits, INV_TEMPERATURE_INPUT],
      output: [scaled],
    }),
    onnx.NodeProto.create({
      name: 'sampling_softmax',
      opType: 'Softmax',
      input: [scaled],
      output: [PROBS_OUTPUT],
      attribute: [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 })],
    }),
  ];
  (graph.node ??= []).push(gated(graph, WANT_PROBS_INPUT, nodes, onnx.TensorProto.DataType.FLOAT, 3));
  (graph.output ??= []).push(
    onnx.ValueInfoProto.create({
      name: PROBS_OUTPUT,
      type: {
        tensorType: {
          elemType: onnx.TensorProto.DataType.FLOAT,
          shape: { dim: [{ dimParam: 'batch_size' }, { dimParam: 'logits_positions' }, { dimParam: 'vocab' }] },
        },
      },
    }),
  );
  return SAMPLING_PROBS;
}

/**
 * An `If` on a new bool input `gate` (shape [1], fed every pass): `nodes` run only when it is
 * true; otherwise their last output is an empty tensor of the same type and rank. onnxruntime
 * runs every node of a graph whatever a pass fetches, so an output only some passes want (the
 * argmax, the probabilities: 0.1–0.5 ms over a 150k vocabulary) is gated instead.
 */
export function gated(
  graph: onnx.IGraphProto,
  gate: string,
  nodes: onnx.INodeProto[],
  elemType: onnx.TensorProto.DataType,
  rank: number,
): onnx.NodeProto {
  (graph.input ??= []).push(
    onnx.ValueInfoProto.create({
      name: gate,
      type: { tensorType: { elemType: onnx.TensorProto.DataType.BOOL, shape: { dim: [{ dimValue: 1 }] } } },
    }),
  );
  const last = nodes[nodes.length - 1];
  const output = last.output![0];
  const branchOut = (name: string) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType } } });
  last.output = [`${output}/computed`];
  const empty = onnx.NodeProto.create({
    name: `${output}/skipped_node`,
    opType: 'Constant',
    output: [`${output}/skipped`],
    attribute: [
      onnx.AttributeProto.create({
        name: 'value',
        type: onnx.AttributeProto.AttributeType.TENSOR,
        t: onnx.TensorProto.create({ dims: new Array<number>(rank).fill(0), dataType: elemType }),
      }),
    ],
  });
  const branch = (name: string, body: onnx.INodeProto[], out: string) =>
    onnx.AttributeProto.create({
      name,
      type: onnx.AttributeProto.AttributeType.GRAPH,
      g: onnx.GraphProto.create({ name: `${output}/${name}`, node: body, output: [branchOut(out)] }),
    });
  return onnx.NodeProto.create({
    name: `${output}/gate`,
    opType: 'If',
    input: [gate],
    output: [output],
    attribute: [
      branch('then_branch', nodes, `${output}/computed`),
      branch('else_branch', [empty], `${output}/skipped`),
    ],
  });
}
