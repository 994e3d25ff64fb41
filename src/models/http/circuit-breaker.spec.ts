import { ErrorCode } from '../../common/errors/error-code';
import { CircuitBreaker, CircuitOpenError } from './circuit-breaker';

describe(CircuitBreaker.name, () => {
  let now: number;
  const clock = (): number => now;
  beforeEach(() => {
    now = 1_000_000;
  });

  const fail = (b: CircuitBreaker, times: number): void => {
    for (let i = 0; i < times; i++) b.acquire().failure();
  };

  it('opens after N consecutive failures and fails fast with Retry-After = remaining cool-down', () => {
    const b = new CircuitBreaker('big', { failureThreshold: 3, cooldownMs: 10_000, clock });
    fail(b, 2);
    b.acquire().success(); // resets the streak
    fail(b, 2);
    expect(b.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 2 });
    fail(b, 1);
    expect(b.snapshot()).toEqual({ state: 'open', consecutiveFailures: 3, openedAt: now, retryAfterMs: 10_000 });
    now += 2_500;
    let err: unknown;
    try {
      b.acquire();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(err).toMatchObject({ code: ErrorCode.ModelUnavailable, status: 503, headers: { 'Retry-After': '8' } });
  });

  it('lets exactly one probe through when half-open; its success closes the circuit', () => {
    const changes: string[] = [];
    const b = new CircuitBreaker('big', { failureThreshold: 1, cooldownMs: 1_000, clock }, (s) => changes.push(s));
    fail(b, 1);
    now += 1_000;
    const probe = b.acquire();
    expect(b.snapshot().state).toBe('half-open');
    expect(() => b.acquire()).toThrow(CircuitOpenError);
    probe.success();
    expect(b.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 0, openedAt: null });
    expect(changes).toEqual(['open', 'half-open', 'closed']);
  });

  it('re-opens when the probe fails, for a fresh cool-down', () => {
    const b = new CircuitBreaker('big', { failureThreshold: 1, cooldownMs: 1_000, clock });
    fail(b, 1);
    now += 1_500;
    b.acquire().failure();
    expect(b.snapshot()).toMatchObject({ state: 'open', openedAt: now, retryAfterMs: 1_000 });
  });

  it('frees the probe slot when the probe is cancelled', () => {
    const b = new CircuitBreaker('big', { failureThreshold: 1, cooldownMs: 1_000, clock });
    fail(b, 1);
    now += 1_000;
    b.acquire().cancel();
    expect(() => b.acquire()).not.toThrow();
  });

  it('ignores outcomes reported after the circuit changed state, and repeated reports', () => {
    const b = new CircuitBreaker('big', { failureThreshold: 2, cooldownMs: 1_000, clock });
    const slow = b.acquire();
    fail(b, 2);
    slow.success(); // issued while closed: must not close an open circuit
    expect(b.snapshot().state).toBe('open');
    now += 1_000;
    const probe = b.acquire();
    probe.failure();
    probe.success();
    expect(b.snapshot().state).toBe('open');
  });

  it('can open on failure rate within a window', () => {
    const b = new CircuitBreaker('big', {
      failureThreshold: 100,
      cooldownMs: 1_000,
      clock,
      failureRate: { threshold: 0.5, windowMs: 10_000, minRequests: 4 },
    });
    b.acquire().failure();
    b.acquire().success();
    b.acquire().failure();
    expect(b.snapshot().state).toBe('closed'); // 3 < minRequests
    b.acquire().failure();
    expect(b.snapshot().state).toBe('open');
  });

  it('counts a late failure (stream cut after success) only while closed', () => {
    const b = new CircuitBreaker('big', { failureThreshold: 2, cooldownMs: 1_000, clock });
    b.reportLateFailure();
    b.reportLateFailure();
    expect(b.snapshot().state).toBe('open');
    b.reportLateFailure();
    expect(b.snapshot()).toMatchObject({ consecutiveFailures: 2, openedAt: now });
  });
});
