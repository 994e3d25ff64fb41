import { formatResetDuration, retryHeaders } from './rate-limit-headers';

describe(formatResetDuration.name, () => {
  it.each([
    [0, '0s'],
    [120, '120ms'],
    [1_000, '1s'],
    [59_200, '59.2s'],
    [1_234, '1.234s'],
    [360_000, '6m0s'],
    [90_500, '1m30.5s'],
    [3_723_000, '1h2m3s'],
  ])('does %i ms as %s', (ms, text) => {
    expect(formatResetDuration(ms)).toBe(text);
  });
});

describe(retryHeaders.name, () => {
  it('does whole seconds of at least 1 in Retry-After and exact milliseconds beside it', () => {
    expect(retryHeaders(1)).toEqual({ 'retry-after': '1', 'retry-after-ms': '1' });
    expect(retryHeaders(1_001)).toEqual({ 'retry-after': '2', 'retry-after-ms': '1001' });
    expect(retryHeaders(0)).toEqual({ 'retry-after': '1', 'retry-after-ms': '1' });
  });
});
