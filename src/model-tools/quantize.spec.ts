import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildModel } from './build-model';
import { DT, GraphBuilder, encodeModel, float, int } from './onnx/graph-builder';
import { loadModelProto } from './onnx/tensor-io';
import { OrtDecoder } from './ort-decoder';
import { type WeightMode, quantizeModelFolder, quantizeModelProto } from './quantize';
import { quantizationReport } from './quantize-report';
import { type Architecture } from './spec';
import { uniformTensor } from './weights';

const root = mkdtempSync(join(tmpdir(), 'model-tools-quant-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

/** Runs a one-input graph before and after quantization; returns max |diff| / rms of the fp32 output. */
async function relativeError(g: GraphBuilder, x: Float32Array, xDims: number[], mode: WeightMode): Promise<number> {
  const m = g.toModelProto();
  const fp = await ort.InferenceSession.create(Buffer.from(encodeModel(m)));
  const q = await ort.InferenceSession.create(Buffer.from(encodeModel(quantizeModelProto(m, mode).model)));
  const feeds = { x: new ort.Tensor('float32', x, xDims) };
  const a = (await fp.run(feeds)).y.data as Float32Array;
  const b = (await q.run(feeds)).y.data as Float32Array;
  let maxDiff = 0,
    sq = 0;
  for (let i = 0; i < a.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    sq += a[i] * a[i];
  }
  return maxDiff / Math.sqrt(sq / a.length);
}

describe('quantizeModelProto', () => {
  // All-positive activations near 1 make uint8 codes near 255: the case where full-range int8
  // weights saturate the x86 non-VNNI kernel.
  const K = 128,
    N = 96;
  const x = uniformTensor(3, 'x', 4 * K, 0.05, 1);

  it.each(['s7', 'u8'] as const)(
    'keeps a MatMul within 5%% of fp32 with %s weights, even for saturating inputs',
    async (mode) => {
      const g = new GraphBuilder();
      g.input('x', DT.FLOAT, [1, 4, K]);
      g.node('MatMul', ['x', g.init('w', uniformTensor(1, 'w', K * N, 0.15), [K, N])], {}, '', 'y');
      g.output('y', DT.FLOAT, [1, 4, N]);
      expect(await relativeError(g, x, [1, 4, K], mode)).toBeLessThan(0.05);
    },
  );

  it('rewrites Gemm with transB, alpha, beta and a bias', async () => {
    const g = new GraphBuilder();
    g.input('x', DT.FLOAT, [4, K]);
    const b = g.init('b', uniformTensor(1, 'b', N * K, 0.15), [N, K]);
    const c = g.init('c', uniformTensor(2, 'c', N, 1), [N]);
    g.node('Gemm', ['x', b, c], { transB: int(1), alpha: float(0.5), beta: float(2) }, '', 'y');
    g.output('y', DT.FLOAT, [4, N]);
    const { stats, model } = quantizeModelProto(g.toModelProto());
    expect(stats).toEqual({ matmul: 0, gemm: 1, gather: 0 });
    expect(model.graph?.node?.some((n) => n.opType === 'Gemm')).toBe(false);
    expect(await relativeError(g, uniformTensor(4, 'x', 4 * K, 1), [4, K], 's7')).toBeLessThan(0.05);
  });
});

describe.each([
  ['llama', 'llama' as Architecture, false],
  ['gpt2 (tied head through Transpose)', 'gpt2' as Architecture, true],
])('quantizeModelFolder on %s', (name, arch, tied) => {
  const dir = join(root, arch);
  let result: Awaited<ReturnType<typeof quantizeModelFolder>>;

  beforeAll(async () => {
    await buildModel({ outDir: dir, arch, layers: 2, hidden: 64, heads: 4, kvHeads: arch === 'llama' ? 2 : undefined });
    result = await quantizeModelFolder(dir);
  });

  it('replaces every constant-weight MatMul and the embedding Gathers, dropping the fp32 weights', () => {
    const perLayer = arch === 'gpt2' ? 4 : 7;
    // gpt2 has two embeddings: tokens and learned positions.
    expect(result).toMatchObject({ matmul: 2 * perLayer + 1, gemm: 0, gather: arch === 'gpt2' ? 2 : 1 });
    expect(result.output).toBe(join(dir, 'onnx/model_quantized.onnx'));
    expect(result.outputBytes / result.inputBytes).toBeLessThan(0.4);
    const g = loadModelProto(result.output).graph!;
    const floatMatrices = (g.initializer ?? []).filter(
      (t) => t.dataType === DT.FLOAT && t.dims?.length === 2 && !t.name?.endsWith('_scale_col'),
    );
    expect(floatMatrices.map((t) => t.name)).toEqual([]);
    expect(g.node?.filter((n) => n.opType === 'MatMulInteger')).toHaveLength(result.matmul);
    expect(g.node?.some((n) => n.opType === 'Transpose' && n.input?.[0].endsWith('_quantized_rows'))).toBe(tied);
  });

  it('keeps the interface and stays close to fp32', async () => {
    const fp = await OrtDecoder.load(result.input);
    const q = await OrtDecoder.load(result.output);
    expect(q.session.inputNames).toEqual(fp.session.inputNames);
    expect(q.session.outputNames).toEqual(fp.session.outputNames);
    const ids = [72, 101, 108, 108, 111, 32, 116, 104, 101, 114, 101];
    const a = await fp.forward([ids], [ids.map(() => 1)]);
    const b = await q.forward([ids], [ids.map(() => 1)]);
    expect(b.dims).toEqual(a.dims);
    expect(cosine(a.logits, b.logits)).toBeGreaterThan(0.99);
    // The KV cache path works on the quantized graph too. It cannot match full recompute exactly:
    // dynamic quantization scales each MatMul input by its own range, which covers one token
    // when decoding and the whole sequence when recomputing.
    const pre = await q.forward([ids.slice(0, -1)], [ids.slice(0, -1).map(() => 1)]);
    const step = await q.forward([ids.slice(-1)], [ids.map(() => 1)], pre.present);
    const V = b.dims[2];
    expect(cosine(step.logits, b.logits.subarray((ids.length - 1) * V))).toBeGreaterThan(0.99);
    await fp.release();
    await q.release();
  });
});

describe('quantizationReport', () => {
  it('measures size, token agreement and speed side by side', async () => {
    const dir = join(root, 'report');
    await buildModel({ outDir: dir, arch: 'llama', layers: 2, hidden: 64, heads: 4 });
    const q = await quantizeModelFolder(dir);
    const r = await quantizationReport(q.input, q.output, dir, {
      prompts: ['Hello there', 'abc'],
      tokens: 8,
      rounds: 1,
      threads: 1,
    });
    expect(r.sizeRatio).toBeCloseTo(q.outputBytes / q.inputBytes, 6);
    expect(r.prompts.map((p) => [p.fp32.length, p.int8.length])).toEqual([
      [8, 8],
      [8, 8],
    ]);
    const same = r.prompts.reduce((s, p) => s + p.samePositions, 0);
    expect(r.identicalFraction).toBeCloseTo(same / 16, 6);
    expect(r.prompts.every((p) => p.samePrefix <= p.samePositions)).toBe(true);
    expect(r.fp32MsPerToken).toBeGreaterThan(0);
    expect(r.int8MsPerToken).toBeGreaterThan(0);
  });
});
