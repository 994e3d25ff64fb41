/** Vector figures the embeddings page shows (pure: unit-tested in test/ui/embedding-math.spec.ts). */

export function norm(v: readonly number[]): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

/** Cosine similarity; 0 when either vector is all zeros. */
export function cosine(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error(`vectors of different sizes (${a.length} and ${b.length})`);
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
  const n = norm(a) * norm(b);
  return n === 0 ? 0 : dot / n;
}

/** The first few components, for display. */
export function preview(v: readonly number[], count = 6): string {
  const head = v.slice(0, count).map((x) => x.toFixed(4));
  return `[${head.join(', ')}${v.length > count ? ', …' : ''}]`;
}
