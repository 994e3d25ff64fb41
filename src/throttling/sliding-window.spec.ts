import { adjust, type Buckets, decide, type WindowGeometry } from './sliding-window';

const g: WindowGeometry = { bucketMs: 100, buckets: 10 }; // a 1 s window

describe(decide.name, () => {
  it('does admit up to the limit, then refuses with the wait until enough leaves the window', () => {
    const b: Buckets = new Map();
    for (let i = 0; i < 3; i++) expect(decide([b], [{ limit: 3, cost: 1 }], 1_000 + i * 150, g).allowed).toBe(true);
    const d = decide([b], [{ limit: 3, cost: 1 }], 1_400, g);
    expect(d.allowed).toBe(false);
    // The first unit sits in bucket 10 (1000..1099): it leaves the window at (10 + 10 + 1) * 100.
    expect(d.retryAfterMs).toBe(2_100 - 1_400);
    expect(decide([b], [{ limit: 3, cost: 1 }], 2_099, g).allowed).toBe(false);
    expect(decide([b], [{ limit: 3, cost: 1 }], 2_100, g).allowed).toBe(true);
  });

  it('never admits more than the limit in any trailing window (random traffic)', () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const b: Buckets = new Map();
    const admitted: [number, number][] = [];
    let now = 0;
    for (let i = 0; i < 3_000; i++) {
      now += Math.floor(rand() * 40);
      const cost = 1 + Math.floor(rand() * 5);
      if (decide([b], [{ limit: 20, cost }], now, g).allowed) admitted.push([now, cost]);
    }
    for (const [t] of admitted) {
      const inWindow = admitted.filter(([u]) => u > t - 1_000 && u <= t).reduce((s, [, c]) => s + c, 0);
      expect(inWindow).toBeLessThanOrEqual(20);
    }
    expect(admitted.length).toBeGreaterThan(100);
  });

  it('does all-or-nothing across limits, and reports a cost above the limit as never passing', () => {
    const req: Buckets = new Map();
    const tok: Buckets = new Map();
    const d = decide(
      [req, tok],
      [
        { limit: 10, cost: 1 },
        { limit: 100, cost: 150 },
      ],
      0,
      g,
    );
    expect(d.allowed).toBe(false);
    expect(d.retryAfterMs).toBe(-1);
    expect(d.states[1].retryAfterMs).toBe(-1);
    expect(req.size).toBe(0);
    const peek = decide(
      [req, tok],
      [
        { limit: 10, cost: 1 },
        { limit: 100, cost: 0 },
      ],
      0,
      g,
    );
    expect(peek.allowed).toBe(true);
    expect(peek.states.map((s) => s.remaining)).toEqual([9, 100]);
    expect(peek.states[0].resetMs).toBe(1_100);
    expect(tok.size).toBe(0);
  });
});

describe(adjust.name, () => {
  it('does refund into the original bucket, and only charges late corrections', () => {
    const b: Buckets = new Map();
    const d = decide([b], [{ limit: 100, cost: 80 }], 0, g);
    adjust(b, d.bucket, -50, 500, g);
    expect(decide([b], [{ limit: 100, cost: 0 }], 500, g).states[0].used).toBe(30);
    adjust(b, d.bucket, -30, 5_000, g); // long gone: nothing to give back
    adjust(b, d.bucket, 7, 5_000, g); // an excess found late lands now
    expect(decide([b], [{ limit: 100, cost: 0 }], 5_000, g).states[0].used).toBe(7);
  });
});
