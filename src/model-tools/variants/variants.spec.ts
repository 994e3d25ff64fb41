import * as ort from 'onnxruntime-node';
import { DT, GraphBuilder, encodeModel, int } from '../onnx/graph-builder';
import { moveToExternalData } from './external-data';
import { floatToHalf } from './half';
import { quantizeBlocks } from './int4';

/** Dequantizes MatMulNBits' B/scales/zero points the way its documentation defines them. */
function dequantize(q: ReturnType<typeof quantizeBlocks>, n: number, k: number, blockSize: number): Float32Array {
  const w = new Float32Array(k * n); // [K, N]
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < k; i++) {
      const blk = Math.floor(i / blockSize);
      const j = i % blockSize;
      const v = (q.b[(r * q.blocks + blk) * q.blob + (j >> 1)] >> ((j & 1) * 4)) & 15;
      const zp = q.zeroPoints ? (q.zeroPoints[r * Math.ceil(q.blocks / 2) + (blk >> 1)] >> ((blk & 1) * 4)) & 15 : 8;
      w[i * n + r] = (v - zp) * q.scales[r * q.blocks + blk];
    }
  }
  return w;
}

describe('4-bit block quantization (MatMulNBits)', () => {
  it.each([
    [32, false],
    [64, true],
    [128, true],
    [128, false],
  ])('block %i, asymmetric %s: onnxruntime computes exactly the dequantized product', async (blockSize, asym) => {
    const K = 96; // not a multiple of 64 or 128: the last block is padded
    const N = 40;
    const rowsNK = Float32Array.from({ length: N * K }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 5)));
    const q = quantizeBlocks(rowsNK, N, K, blockSize, asym);
    const w = dequantize(q, N, K, blockSize);
    // every weight within half a step of the original; symmetric blocks may clip values whose
    // sign is opposite to the block's extreme by up to one step (8 steps one way, 7 the other)
    let clipped = 0;
    for (let r = 0; r < N; r++) {
      for (let i = 0; i < K; i++) {
        const step = Math.abs(q.scales[r * q.blocks + Math.floor(i / blockSize)]);
        const err = Math.abs(w[i * N + r] - rowsNK[r * K + i]);
        expect(err).toBeLessThanOrEqual((asym ? step / 2 : step) + 1e-6);
        if (err > step / 2 + 1e-6) clipped++;
      }
    }
    expect(clipped).toBeLessThan((N * K) / 20);
    const g = new GraphBuilder();
    g.input('a', DT.FLOAT, [2, K]);
    g.init('B', q.b, [N, q.blocks, q.blob]);
    g.init('S', q.scales, [N * q.blocks]);
    if (q.zeroPoints) g.init('Z', q.zeroPoints, [q.zeroPoints.length]);
    g.nodeN(
      'MatMulNBits',
      q.zeroPoints ? ['a', 'B', 'S', 'Z'] : ['a', 'B', 'S'],
      1,
      {
        K: int(K),
        N: int(N),
        bits: int(4),
        block_size: int(blockSize),
        accuracy_level: int(0),
      },
      '',
      ['y'],
    );
    g.nodes[0].domain = 'com.microsoft';
    g.output('y', DT.FLOAT, [2, N]);
    const session = await ort.InferenceSession.create(encodeModel(g.toModelProto()));
    const a = Float32Array.from({ length: 2 * K }, (_, i) => Math.cos(i * 0.3));
    const y = (await session.run({ a: new ort.Tensor('float32', a, [2, K]) })).y.data as Float32Array;
    await session.release();
    for (let r = 0; r < 2; r++) {
      for (let c = 0; c < N; c++) {
        let ref = 0;
        for (let i = 0; i < K; i++) ref += a[r * K + i] * w[i * N + c];
        expect(Math.abs(y[r * N + c] - ref)).toBeLessThan(1e-4);
      }
    }
  });
});

describe('float → half', () => {
  it('rounds to nearest even, keeps subnormals, clamps instead of overflowing to infinity', () => {
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(-2)).toBe(0xc000);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(-1e9)).toBe(0xfbff); // the mask bias: finite, so masked rows stay NaN-free
    expect(floatToHalf(Infinity)).toBe(0x7bff);
    expect(floatToHalf(2 ** -24)).toBe(1); // smallest subnormal
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(floatToHalf(0.1)).toBe(0x2e66);
    expect(Number.isNaN(floatToHalf(NaN))).toBe(false);
    expect(floatToHalf(NaN) & 0x7c00).toBe(0x7c00);
  });
});

describe('external data', () => {
  it('splits weights over files named as transformers.js expects, page-aligned, small tensors inline', () => {
    const big = (name: string, n: number) => ({
      name,
      dims: [n],
      dataType: DT.FLOAT,
      rawData: new Uint8Array(n * 4).fill(1),
    });
    const model = {
      graph: { initializer: [big('a', 3000), big('b', 3000), big('c', 10), big('d', 1500)] },
    };
    const { model: out, files } = moveToExternalData(model, { graphFile: 'model_q4.onnx', maxFileBytes: 20_000 });
    expect(files.map((f) => f.name)).toEqual(['model_q4.onnx_data', 'model_q4.onnx_data_1']);
    const where = (out.graph?.initializer ?? []).map((t) =>
      Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value])),
    );
    expect(where[0]).toEqual({ location: 'model_q4.onnx_data', offset: '0', length: '12000' });
    expect(where[1]).toEqual({ location: 'model_q4.onnx_data_1', offset: '0', length: '12000' });
    expect(where[2]).toEqual({}); // 40 bytes: inline
    expect(where[3]).toEqual({ location: 'model_q4.onnx_data_1', offset: '12288', length: '6000' });
    expect(files[1].bytes.length).toBe(12288 + 6000);
  });
});
