import { TokenCountMemo } from './token-count.memo';

describe(TokenCountMemo.name, () => {
  it('remembers counts per model version and input kind', () => {
    const memo = new TokenCountMemo();
    const a = memo.key('m\u0000v1', 'hello')!;
    memo.set(a, 3);
    expect(memo.get(a)).toBe(3);
    expect(memo.get(memo.key('m\u0000v2', 'hello')!)).toBeUndefined();
    expect(memo.get(memo.key('m\u0000v1', [{ role: 'user', content: 'hello' }])!)).toBeUndefined();
  });

  it('does not key very long inputs', () => {
    expect(new TokenCountMemo().key('v', 'x'.repeat(20_000))).toBeUndefined();
  });

  it('evicts the least recently used entry when full', () => {
    const memo = new TokenCountMemo();
    const first = memo.key('v', 'first')!;
    memo.set(first, 1);
    const second = memo.key('v', 'second')!;
    memo.set(second, 2);
    memo.get(first); // first is now the most recent
    for (let i = 0; i < 4095; i++) memo.set(memo.key('v', `p${i}`)!, i);
    expect(memo.get(first)).toBe(1);
    expect(memo.get(second)).toBeUndefined();
  });
});
