import { onnx } from 'onnx-proto';
import { DT } from '../onnx/graph-builder';
import { tensorToArray } from '../onnx/tensor-io';
import { floatsToHalf } from './half';

/**
 * float32 → float16 for a whole graph, inputs, outputs and KV cache included (what onnx-community's
 * `model_fp16.onnx` exports look like): float initializers and Constant values become half,
 * float-typed values and Cast targets become float16. Ops without a float16 CPU kernel are
 * wrapped in casts by onnxruntime itself at load time. Values beyond ±65504 (the -1e9 mask
 * bias) clamp to the largest half, so masked scores stay finite.
 */
export function convertModelToFp16(model: onnx.IModelProto): { model: onnx.IModelProto; converted: number } {
  const graph = model.graph;
  if (!graph) throw new Error('model has no graph');
  let converted = 0;
  const toHalf = (t: onnx.ITensorProto): onnx.ITensorProto => {
    if (t.dataType !== DT.FLOAT) return t;
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL)
      throw new Error(`${t.name}: external data is not supported`);
    converted++;
    const half = floatsToHalf(tensorToArray(t).data as Float32Array);
    return { name: t.name, dims: t.dims, dataType: DT.FLOAT16, rawData: new Uint8Array(half.buffer) };
  };
  const retype = (v: onnx.IValueInfoProto): onnx.IValueInfoProto => {
    const tt = v.type?.tensorType;
    if (tt?.elemType !== DT.FLOAT) return v;
    return { ...v, type: { ...v.type, tensorType: { ...tt, elemType: DT.FLOAT16 } } };
  };
  const nodes = (graph.node ?? []).map((node) => {
    const attribute = (node.attribute ?? []).map((a) => {
      if (node.opType === 'Cast' && a.name === 'to' && Number(a.i) === DT.FLOAT) return { ...a, i: DT.FLOAT16 };
      if (a.t && node.opType === 'Constant') return { ...a, t: toHalf(a.t) };
      return a;
    });
    return { ...node, attribute };
  });
  return {
    model: {
      ...model,
      graph: {
        ...graph,
        node: nodes,
        initializer: (graph.initializer ?? []).map(toHalf),
        input: (graph.input ?? []).map(retype),
        output: (graph.output ?? []).map(retype),
        valueInfo: (graph.valueInfo ?? []).map(retype),
      },
    },
    converted,
  };
}
