import { cosine, norm, preview } from '../../ui/src/embedding-math';

describe('embedding math (the embeddings page)', () => {
  it('computes norms and cosine similarity, 0 for a zero vector', () => {
    expect(norm([3, 4])).toBe(5);
    expect(cosine([1, 0], [1, 0])).toBeCloseTo(1, 12);
    expect(cosine([1, 0], [0, 2])).toBeCloseTo(0, 12);
    expect(cosine([1, 1], [-2, -2])).toBeCloseTo(-1, 12);
    expect(cosine([0, 0], [1, 1])).toBe(0);
    expect(() => cosine([1], [1, 2])).toThrow(/different sizes/);
  });

  it('previews the first components', () => {
    expect(preview([0.1, -0.25, 1 / 3], 2)).toBe('[0.1000, -0.2500, …]');
    expect(preview([1])).toBe('[1.0000]');
  });
});
