import { onnx } from 'onnx-proto';

/** ONNX element types used here (values from the ONNX TensorProto.DataType enum). */
export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10 } as const;

export type Dim = number | string;
export type TensorData = Float32Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

/** Attribute values are tagged so an integer-valued float (epsilon 1) is never written as INT. */
export type AttrValue =
  | { kind: 'int'; v: number }
  | { kind: 'float'; v: number }
  | { kind: 'ints'; v: number[] }
  | { kind: 'tensor'; v: onnx.ITensorProto };
export const int = (v: number): AttrValue => ({ kind: 'int', v });
export const float = (v: number): AttrValue => ({ kind: 'float', v });
export const ints = (v: number[]): AttrValue => ({ kind: 'ints', v });

export function dataTypeOf(data: TensorData): number {
  if (data instanceof Float32Array) return DT.FLOAT;
  if (data instanceof BigInt64Array) return DT.INT64;
  if (data instanceof Int32Array) return DT.INT32;
  if (data instanceof Int8Array) return DT.INT8;
  return DT.UINT8;
}

/** A tensor with raw little-endian bytes, the compact form every runtime reads. */
export function makeTensor(name: string, data: TensorData, dims: number[]): onnx.ITensorProto {
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== data.length) throw new Error(`tensor ${name}: ${data.length} values for dims [${dims}]`);
  // Copy so the bytes stay valid even if the caller reuses its buffer.
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  return { name, dims, dataType: dataTypeOf(data), rawData: raw };
}

export function valueInfo(name: string, elemType: number, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export function toAttribute(name: string, a: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'int':
      return { name, type: T.INT, i: a.v };
    case 'float':
      return { name, type: T.FLOAT, f: a.v };
    case 'ints':
      return { name, type: T.INTS, ints: a.v };
    case 'tensor':
      return { name, type: T.TENSOR, t: a.v };
  }
}

/** Accumulates nodes, initializers and I/O, handing out unique tensor names. */
export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  readonly inputs: onnx.IValueInfoProto[] = [];
  readonly outputs: onnx.IValueInfoProto[] = [];
  private counter = 0;
  private readonly constCache = new Map<string, string>();

  input(name: string, elemType: number, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: number, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  init(name: string, data: TensorData, dims: number[]): string {
    this.initializers.push(makeTensor(name, data, dims));
    return name;
  }

  /** Small shared constants (shapes, axes, scalars), deduplicated by value. */
  constI64(values: number[], dims: number[] = [values.length]): string {
    return this.cached(`i64:${dims}:${values}`, () => BigInt64Array.from(values.map(BigInt)), dims);
  }

  constF32(values: number[], dims: number[] = []): string {
    return this.cached(`f32:${dims}:${values}`, () => Float32Array.from(values), dims);
  }

  private cached(key: string, make: () => TensorData, dims: number[]): string {
    let name = this.constCache.get(key);
    if (!name) {
      name = `const_${this.constCache.size}`;
      this.init(name, make(), dims);
      this.constCache.set(key, name);
    }
    return name;
  }

  /** Adds a node; returns its output names (given ones, or fresh `/<hint>/<op>_<n>` names). */
  nodeN(
    op: string,
    inputs: string[],
    nOut: number,
    attrs: Record<string, AttrValue> = {},
    hint = '',
    outs?: string[],
  ): string[] {
    const id = this.counter++;
    const base = `${hint ? `/${hint}` : ''}/${op}_${id}`;
    const output = outs ?? Array.from({ length: nOut }, (_, i) => `${base}_out${i}`);
    this.nodes.push({
      name: base,
      opType: op,
      input: inputs,
      output,
      attribute: Object.entries(attrs).map(([k, v]) => toAttribute(k, v)),
    });
    return output;
  }

  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, hint = '', out?: string): string {
    return this.nodeN(op, inputs, 1, attrs, hint, out ? [out] : undefined)[0];
  }

  toModelProto(docString = ''): onnx.IModelProto {
    return {
      irVersion: 8,
      opsetImport: [
        { domain: '', version: 17 },
        // contrib ops (GroupQueryAttention) when a builder used them
        ...(this.nodes.some((n) => n.domain === 'com.microsoft') ? [{ domain: 'com.microsoft', version: 1 }] : []),
      ],
      producerName: 'llm-server model-tools',
      producerVersion: '1',
      docString,
      graph: {
        name: 'main_graph',
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
  }
}

export function encodeModel(model: onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

export function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}

/**
 * Drops nodes whose outputs nobody reads, then initializers nobody reads: what a rewrite of the
 * graph leaves behind (the float weights a quantizer replaced).
 */
export function removeDead(nodes: onnx.INodeProto[], initializers: onnx.ITensorProto[], graphOutputs: string[]) {
  let live = nodes;
  for (;;) {
    const used = new Set(graphOutputs);
    for (const n of live) for (const i of n.input ?? []) used.add(i);
    const next = live.filter((n) => (n.output ?? []).some((o) => used.has(o)));
    if (next.length === live.length)
      return { nodes: live, initializers: initializers.filter((t) => used.has(t.name ?? '')) };
    live = next;
  }
}
