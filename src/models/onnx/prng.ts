/**
 * mulberry32: a tiny seeded PRNG. Each request gets its own instance, so the same seed gives the
 * same draws regardless of what else shares the batch.
 */
export type Rng = () => number;

export function mulberry32(seed: number): Rng {
  let a = seedToUint32(seed);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Folds any finite number (API seeds may exceed 32 bits or be negative) into 32 bits. */
export function seedToUint32(seed: number): number {
  if (!Number.isFinite(seed)) return 0;
  const int = Math.trunc(seed);
  const low = int % 4294967296;
  const high = Math.floor(int / 4294967296);
  return (low ^ Math.imul(high | 0, 0x9e3779b9)) >>> 0;
}

/** A fresh random seed for requests that did not ask for one. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 4294967296);
}
