import * as ort from 'onnxruntime-node';
import { KvBatch } from './kv-cache';
import { halfBits, halfToFloat } from './tensors';

const H = 2;
const D = 2;

/** One layer tensor whose values encode (row, head, position, dim) so copies can be traced. */
function layer(batch: number, past: number, tag: number): ort.Tensor {
  const data = new Float32Array(batch * H * past * D);
  for (let r = 0; r < batch; r++)
    for (let h = 0; h < H; h++)
      for (let p = 0; p < past; p++)
        for (let d = 0; d < D; d++) data[((r * H + h) * past + p) * D + d] = tag + r * 1000 + h * 100 + p * 10 + d;
  return new ort.Tensor('float32', data, [batch, H, past, D]);
}

/** Row r, head h as a list of positions, each [d0, d1]. */
function positions(t: ort.Tensor, r: number, h: number): number[][] {
  const [, , past] = t.dims;
  const data = t.data as Float32Array;
  return Array.from({ length: past }, (_, p) =>
    Array.from(data.subarray(((r * H + h) * past + p) * D, ((r * H + h) * past + p + 1) * D)),
  );
}

describe(KvBatch.name, () => {
  it('right-aligns both sides when appending rows, padding the shorter one', () => {
    const a = new KvBatch([layer(1, 2, 0)], 1, 2, [0], 'float32');
    const b = new KvBatch([layer(2, 3, 50000)], 2, 3, [1, 0], 'float32');
    const m = a.concat(b);
    expect([m.batch, m.pastLength, m.pads]).toEqual([3, 3, [1, 1, 0]]);
    expect(m.tensors[0].dims).toEqual([3, H, 3, D]);
    expect(positions(m.tensors[0], 0, 1)).toEqual([
      [0, 0],
      [100, 101],
      [110, 111],
    ]); // one padding column first
    expect(positions(m.tensors[0], 2, 0)).toEqual([
      [51000, 51001],
      [51010, 51011],
      [51020, 51021],
    ]);
  });

  it('keeps selected rows and trims padding columns no remaining row needs', () => {
    const kv = new KvBatch([layer(3, 4, 0)], 3, 4, [2, 0, 3], 'float32');
    const s = kv.select([2, 0]);
    expect([s.batch, s.pastLength, s.pads]).toEqual([2, 2, [1, 0]]);
    expect(positions(s.tensors[0], 0, 0)).toEqual([
      [2020, 2021],
      [2030, 2031],
    ]);
    expect(positions(s.tensors[0], 1, 1)).toEqual([
      [120, 121],
      [130, 131],
    ]);
    expect(kv.select([0, 1, 2])).toBe(kv); // nothing to do: no copy
  });

  it('writes decode steps into two alternating arrays with room to grow', () => {
    let kv = new KvBatch([layer(2, 5, 0)], 2, 5, [0, 0], 'float32');
    const seen: Float32Array[] = [];
    for (let step = 0; step < 6; step++) {
      const targets = kv.presentTargets(1);
      expect(targets.tensors[0].dims).toEqual([2, H, 6 + step, D]);
      seen.push(targets.backing[0] as Float32Array);
      kv = kv.advance(targets.tensors, 1, targets);
    }
    expect(kv.pastLength).toBe(11);
    expect(new Set(seen).size).toBe(2); // ping-pong: no allocation after the first two steps
  });

  it('copies float16 caches (raw bits) like float32 ones', () => {
    const bits = Uint16Array.from({ length: 1 * H * 1 * D }, (_, i) => 0x3c00 + i);
    const a = new KvBatch([new ort.Tensor('float16', bits, [1, H, 1, D])], 1, 1, [0], 'float16');
    const m = a.concat(a);
    expect(m.tensors[0].type).toBe('float16');
    expect(Array.from(m.tensors[0].data as Uint16Array)).toEqual([...bits, ...bits]);
  });
});

describe(halfToFloat.name, () => {
  it('decodes normal, subnormal and special half-precision values', () => {
    expect([0x3c00, 0xc000, 0x7bff, 0x3555, 0x0001, 0x0000, 0x8000].map(halfToFloat)).toEqual([
      1,
      -2,
      65504,
      0.333251953125,
      2 ** -24,
      0,
      -0,
    ]);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });
});

describe(halfBits.name, () => {
  it('reads float16 data handed out as another typed array (Float16Array on Node 24+) as the same bits', () => {
    const bits = Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001);
    const asOther = new Int16Array(bits.buffer); // stands in for a Float16Array view of the same memory
    const view = halfBits(asOther);
    expect(view).toBeInstanceOf(Uint16Array);
    expect(view.buffer).toBe(bits.buffer);
    expect(Array.from(view)).toEqual(Array.from(bits));
    expect(halfBits(bits)).toBe(bits);
  });
});
