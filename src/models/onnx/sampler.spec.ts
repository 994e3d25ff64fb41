import { mulberry32, seedToUint32 } from './prng';
import { applyRepetitionPenalty, argmax, pickToken, TokenHistory, type SamplingConfig } from './sampler';
import { drawFromMaskedProbs, drawFromProbs } from './vocabulary-draws';

const cfg = (over: Partial<SamplingConfig>): SamplingConfig => ({
  temperature: 1,
  topK: 0,
  topP: 1,
  repetitionPenalty: 1,
  ...over,
});

/** Draw `n` tokens from fresh copies of `logits` and count them. */
function histogram(logits: number[], c: SamplingConfig, n: number, seed = 7): Map<number, number> {
  const rng = mulberry32(seed);
  const base = Float32Array.from(logits);
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const t = pickToken(base.slice(), c, rng);
    counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  return counts;
}

describe('mulberry32', () => {
  it('gives the same stream for the same seed and a different one for another seed', () => {
    const a = mulberry32(42),
      b = mulberry32(42),
      c = mulberry32(43);
    const sa = [a(), a(), a()],
      sb = [b(), b(), b()],
      sc = [c(), c(), c()];
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
    for (const x of sa) expect(x >= 0 && x < 1).toBe(true);
  });

  it('folds seeds beyond 32 bits without collapsing them', () => {
    expect(seedToUint32(2 ** 40 + 5)).not.toBe(seedToUint32(5));
    expect(seedToUint32(-1)).toBe(seedToUint32(-1));
  });
});

describe('argmax', () => {
  it('returns the first index among equal maxima', () => {
    expect(argmax(Float32Array.from([1, 3, 3, 2]))).toBe(1);
    expect(argmax(Float32Array.from([-5, -1, -3]))).toBe(1);
  });
});

describe('applyRepetitionPenalty', () => {
  it('divides positive and multiplies negative logits of seen tokens only', () => {
    const l = Float32Array.from([2, -2, 4]);
    applyRepetitionPenalty(l, [0, 1], 2);
    expect(Array.from(l)).toEqual([1, -4, 4]);
  });

  it('can change the greedy choice', () => {
    const history = new TokenHistory(3);
    history.add(0);
    history.add(0);
    expect(history.ids).toEqual([0]);
    const token = pickToken(
      Float32Array.from([3, 2, 0]),
      cfg({ temperature: 0, repetitionPenalty: 2 }),
      mulberry32(1),
      history,
    );
    expect(token).toBe(1);
  });
});

describe('pickToken', () => {
  it('is greedy at temperature 0 whatever the rng says', () => {
    const logits = [0.1, 2, 1.9, -1];
    expect(histogram(logits, cfg({ temperature: 0 }), 50)).toEqual(new Map([[1, 50]]));
  });

  it('samples in proportion to softmax(logits / T)', () => {
    const logits = [Math.log(1), Math.log(2), Math.log(3), Math.log(4)];
    const n = 20000;
    const counts = histogram(logits, cfg({}), n);
    [0.1, 0.2, 0.3, 0.4].forEach((p, i) => expect(Math.abs((counts.get(i) ?? 0) / n - p)).toBeLessThan(0.015));
    // T = 0.5 squares the odds: 1:4:9:16
    const sharp = histogram(logits, cfg({ temperature: 0.5 }), n);
    expect(Math.abs((sharp.get(3) ?? 0) / n - 16 / 30)).toBeLessThan(0.015);
  });

  it('samples a 150k vocabulary in proportion, masked blocks (-Infinity) never, even the last ones', () => {
    const logits = new Float32Array(151936).fill(-Infinity);
    // Four live tokens in different 512-token blocks, odds 1:2:3:4; everything after them masked.
    const live = [5, 700, 40000, 100001];
    live.forEach((id, i) => (logits[id] = Math.log(i + 1)));
    const rng = mulberry32(9);
    const counts = new Map<number, number>();
    const n = 3000;
    for (let k = 0; k < n; k++) {
      const id = pickToken(logits, cfg({}), rng); // no penalty: the row is not modified
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual(live);
    live.forEach((id, i) => expect(Math.abs(counts.get(id)! / n - (i + 1) / 10)).toBeLessThan(0.03));
  });

  it('keeps only the k most likely tokens with top-k', () => {
    const logits = Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3);
    const top3 = [...logits.keys()].sort((a, b) => logits[b] - logits[a]).slice(0, 3);
    const counts = histogram(logits, cfg({ topK: 3 }), 1000);
    expect([...counts.keys()].every((t) => top3.includes(t))).toBe(true);
    expect(counts.size).toBe(3);
  });

  it('keeps the smallest set reaching top-p mass', () => {
    // probabilities 0.5, 0.3, 0.15, 0.05: top-p 0.75 keeps the first two, 0.85 the first three
    const logits = [0.5, 0.3, 0.15, 0.05].map(Math.log);
    expect([...histogram(logits, cfg({ topP: 0.75 }), 3000).keys()].sort()).toEqual([0, 1]);
    expect([...histogram(logits, cfg({ topP: 0.85 }), 3000).keys()].sort()).toEqual([0, 1, 2]);
  });

  it('cuts top-p exactly inside one probability bucket of a large vocabulary', () => {
    // > 256 entries takes the bucketed path; 0.26, 0.25, 0.25, 0.24 share a bucket
    const pad = new Array<number>(996).fill(-Infinity);
    const logits = [...[0.26, 0.25, 0.25, 0.24].map(Math.log), ...pad];
    expect([...histogram(logits, cfg({ topP: 0.5 }), 400).keys()].sort()).toEqual([0, 1]);
    expect([...histogram(logits, cfg({ topP: 0.52 }), 400).keys()].sort()).toEqual([0, 1, 2]);
    const wide = [...[0.5, 0.3, 0.15, 0.05].map(Math.log), ...pad];
    expect([...histogram(wide, cfg({ topP: 0.75 }), 400).keys()].sort()).toEqual([0, 1]);
  });

  it('keeps exactly the k best with a large top-k, then applies top-p within them', () => {
    const logits = Array.from({ length: 2000 }, (_, i) => Math.sin(i * 0.7) * 2);
    const ranked = [...logits.keys()].sort((a, b) => logits[b] - logits[a]);
    const top300 = new Set(ranked.slice(0, 300));
    const counts = histogram(logits, cfg({ topK: 300 }), 1200);
    expect([...counts.keys()].every((t) => top300.has(t))).toBe(true);
    expect(counts.size).toBeGreaterThan(200);
    // top-p 0.2 of the top-300 mass is a short prefix of the ranking
    const nucleus = histogram(logits, cfg({ topK: 300, topP: 0.2 }), 1200);
    const worstRank = Math.max(...[...nucleus.keys()].map((t) => ranked.indexOf(t)));
    expect(worstRank).toBeLessThan(100);
    expect(nucleus.size).toBe(worstRank + 1); // a prefix: no holes in the ranking
  });

  it('finds the nucleus in a large vocabulary without missing its head', () => {
    const vocab = 50257;
    const logits = new Array<number>(vocab).fill(-20);
    logits[123] = 5;
    logits[40000] = 4.5;
    const counts = histogram(logits, cfg({ topP: 0.9 }), 100);
    expect([...counts.keys()].sort()).toEqual([123, 40000]);
  });

  it('applies top-p after top-k, renormalised over the k kept', () => {
    // top-k 2 keeps 0.4 and 0.3 → 0.571 / 0.429; top-p 0.5 keeps only the first
    const logits = [0.4, 0.3, 0.2, 0.1].map(Math.log);
    expect([...histogram(logits, cfg({ topK: 2, topP: 0.5 }), 500).keys()]).toEqual([0]);
  });

  it('repeats draws exactly for the same seed', () => {
    const logits = Array.from({ length: 300 }, (_, i) => Math.cos(i * 1.7));
    const run = (seed: number) => {
      const rng = mulberry32(seed);
      return Array.from({ length: 30 }, () => pickToken(Float32Array.from(logits), cfg({ topK: 50, topP: 0.95 }), rng));
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });
});

describe("drawing from the graph's probabilities", () => {
  /** float32 softmax of logits at 1 / invT, as the graph's output. */
  const softmax = (logits: Float32Array, invT: number) => {
    let max = -Infinity;
    for (const v of logits) max = Math.max(max, v * invT);
    const e = Array.from(logits, (v) => Math.exp(v * invT - max));
    const sum = e.reduce((a, b) => a + b, 0);
    return Float32Array.from(e, (v) => v / sum);
  };
  const rngFor = (seed: number) => mulberry32(seed);
  const logits = Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i * 12.9898) * 4);

  it('picks what the logits path picks for the same seed (the same inverse CDF)', () => {
    for (const temperature of [1, 0.7]) {
      const probs = softmax(logits, 1 / temperature);
      let same = 0;
      for (let seed = 0; seed < 300; seed++) {
        const fromLogits = pickToken(logits.slice(), cfg({ temperature }), rngFor(seed));
        if (drawFromProbs(probs, rngFor(seed)) === fromLogits) same++;
      }
      // Only a draw within float rounding of a token boundary may differ.
      expect(same).toBeGreaterThanOrEqual(299);
    }
  });

  it('restricted to a mask, matches masking the logits', () => {
    const mask = Uint8Array.from({ length: 5000 }, (_, i) => (i % 7 === 3 ? 1 : 0));
    const probs = softmax(logits, 1);
    let same = 0;
    for (let seed = 0; seed < 300; seed++) {
      const masked = logits.map((v, i) => (mask[i] ? v : -Infinity));
      const fromLogits = pickToken(masked, cfg({}), rngFor(seed));
      const fromProbs = drawFromMaskedProbs(probs, mask, rngFor(seed));
      expect(mask[fromProbs]).toBe(1);
      if (fromProbs === fromLogits) same++;
    }
    expect(same).toBeGreaterThanOrEqual(299);
  });

  it('gives -1 without drawing when the allowed tokens underflowed, so the caller can use the logits', () => {
    const probs = new Float32Array([0.5, 0.5, 0, 0]);
    const mask = new Uint8Array([0, 0, 1, 1]);
    let draws = 0;
    const rng = () => (draws++, 0.5);
    expect(drawFromMaskedProbs(probs, mask, rng)).toBe(-1);
    expect(draws).toBe(0);
    // Tokens past the mask's end are not allowed.
    expect(drawFromMaskedProbs(new Float32Array([0, 0, 1]), new Uint8Array([1, 1]), rng)).toBe(-1);
  });

  it('never picks a zero-probability token, even when rounding left the sum below the draw', () => {
    const probs = new Float32Array([0, 0.3, 0, 0.3, 0]); // sums to 0.6
    expect(drawFromProbs(probs, () => 0.9)).toBe(3); // 0.9 · 0.6 lands in the second token
    expect(drawFromProbs(probs, () => 0.4)).toBe(3);
    expect(drawFromProbs(probs, () => 0.1)).toBe(1);
    expect(drawFromProbs(probs, () => 0)).toBe(1);
  });
});
