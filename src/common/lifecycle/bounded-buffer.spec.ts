import { BoundedBuffer } from './bounded-buffer';

describe(BoundedBuffer.name, () => {
  it('does FIFO takes in batches', () => {
    const b = new BoundedBuffer<number>(10);
    for (let i = 0; i < 7; i++) expect(b.push(i)).toBe(0);
    expect(b.take(3)).toEqual([0, 1, 2]);
    expect(b.take(10)).toEqual([3, 4, 5, 6]);
    expect(b.size).toBe(0);
    expect(b.take(5)).toEqual([]);
  });

  it('drops the oldest rows when full', () => {
    const b = new BoundedBuffer<number>(3);
    const dropped = [1, 2, 3, 4, 5].map((i) => b.push(i));
    expect(dropped).toEqual([0, 0, 0, 1, 1]);
    expect(b.take(10)).toEqual([3, 4, 5]);
  });

  it('puts a failed batch back in front and trims the oldest beyond the bound', () => {
    const b = new BoundedBuffer<number>(4);
    for (let i = 0; i < 4; i++) b.push(i);
    const batch = b.take(2); // [0, 1] in flight
    for (let i = 4; i < 7; i++) b.push(i); // queue 2..6 over the bound: 2 dropped
    expect(b.putBack(batch)).toBe(2);
    // The newest four survive, in order.
    expect(b.take(10)).toEqual([3, 4, 5, 6]);
  });

  it('keeps order across many pushes and takes (head compaction)', () => {
    const b = new BoundedBuffer<number>(5000);
    const out: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      b.push(i);
      if (i % 3 === 0) out.push(...b.take(2));
    }
    out.push(...b.take(Infinity));
    // 20,000 pushed, some dropped as oldest: what came out is strictly increasing and ends with the last.
    expect(out.every((v, i) => i === 0 || v > out[i - 1])).toBe(true);
    expect(out[out.length - 1]).toBe(19_999);
    expect(out.length).toBeLessThan(20_000);
  });
});
