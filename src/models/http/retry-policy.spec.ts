import { DEFAULT_RETRY, backoffDelay, nextDelay, parseRetryAfter, sleep } from './retry-policy';

describe('retry policy', () => {
  const opts = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1_000, maxRetryAfterMs: 5_000 };

  it('draws full-jitter backoff from [0, base * 2^(attempt-1)], capped', () => {
    expect(backoffDelay(1, opts, () => 0.999)).toBe(99);
    expect(backoffDelay(3, opts, () => 0.5)).toBe(200);
    expect(backoffDelay(10, opts, () => 0.999)).toBe(999);
    expect(backoffDelay(2, opts, () => 0)).toBe(0);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter('0.5', now)).toBe(500);
    expect(parseRetryAfter('Tue, 01 Jan 2030 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Mon, 31 Dec 2029 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter(['2', '9'], now)).toBe(2_000);
  });

  it('prefers the upstream Retry-After over backoff, within the cap', () => {
    expect(nextDelay(1, 2_000, opts, () => 0)).toBe(2_000);
    expect(nextDelay(1, 60_000, opts, () => 0)).toBe(5_000);
    expect(nextDelay(1, undefined, opts, () => 0.5)).toBe(50);
  });

  it('sleep wakes early with the abort reason', async () => {
    // Fake timers never fire here: only the abort can end the sleep.
    jest.useFakeTimers();
    try {
      const ac = new AbortController();
      const p = sleep(10_000, ac.signal);
      ac.abort(new Error('client left'));
      await expect(p).rejects.toThrow('client left');
      expect(jest.getTimerCount()).toBe(0); // and its timer is cleared
    } finally {
      jest.useRealTimers();
    }
  });
});
