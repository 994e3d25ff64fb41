import { ApiError } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-code';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before one probe is let through. */
  cooldownMs: number;
  /**
   * Optional second trigger: open when, within `windowMs`, at least `minRequests` calls ended
   * and the failed share reached `threshold` (0..1). Catches flapping upstreams that never fail
   * N times in a row.
   */
  failureRate?: { threshold: number; windowMs: number; minRequests: number };
  /** Injectable for tests. */
  clock: () => number;
}

export const DEFAULT_BREAKER: CircuitBreakerOptions = {
  failureThreshold: 5,
  cooldownMs: 30_000,
  clock: Date.now,
};

/** What `GET /admin/models` and the metrics show. */
export interface BreakerSnapshot {
  state: BreakerState;
  consecutiveFailures: number;
  /** Epoch ms when the circuit last opened; null while closed. */
  openedAt: number | null;
  /** Ms left before a probe is allowed (0 unless open). */
  retryAfterMs: number;
}

/** One call's ticket: report exactly one outcome (later reports are ignored). */
export interface BreakerPermit {
  success(): void;
  failure(): void;
  /** The call ended without saying anything about the upstream (e.g. the client aborted). */
  cancel(): void;
}

/**
 * closed → (N consecutive failures, or failure rate) → open → (cool-down) → half-open, where
 * exactly ONE probe goes through: its success closes the circuit, its failure re-opens it.
 * While open (or while the probe runs) calls fail fast with 503 model_unavailable + Retry-After.
 */
export class CircuitBreaker {
  private readonly opts: CircuitBreakerOptions;
  private state: BreakerState = 'closed';
  private consecutiveFailures = 0;
  private openedAt: number | null = null;
  private probeInFlight = false;
  /** Bumped on every transition: outcomes of permits from an earlier epoch are stale. */
  private epoch = 0;
  private window: Array<{ at: number; ok: boolean }> = [];

  constructor(
    readonly name: string,
    opts: Partial<CircuitBreakerOptions> = {},
    private readonly onStateChange?: (state: BreakerState, name: string) => void,
  ) {
    this.opts = { ...DEFAULT_BREAKER, ...opts };
  }

  snapshot(): BreakerSnapshot {
    this.tick();
    return {
      state: this.state,
      consecutiveFailures: this.consecutiveFailures,
      openedAt: this.openedAt,
      retryAfterMs: this.remainingCooldown(),
    };
  }

  /** A permit to call the upstream, or a fail-fast ApiError(ModelUnavailable). */
  acquire(): BreakerPermit {
    this.tick();
    if (this.state === 'open') {
      throw this.failFast(
        `circuit open after ${this.consecutiveFailures} consecutive failures`,
        this.remainingCooldown(),
      );
    }
    if (this.state === 'half-open') {
      if (this.probeInFlight) throw this.failFast('circuit half-open, a probe request is in flight', 1000);
      this.probeInFlight = true;
      return this.permit(true);
    }
    return this.permit(false);
  }

  private permit(probe: boolean): BreakerPermit {
    const epoch = this.epoch;
    let settled = false;
    const settle = (outcome: 'success' | 'failure' | 'cancel'): void => {
      if (settled) return;
      settled = true;
      if (epoch !== this.epoch) return;
      if (probe) this.probeInFlight = false;
      if (outcome === 'success') this.recordSuccess();
      else if (outcome === 'failure') this.recordFailure();
    };
    return { success: () => settle('success'), failure: () => settle('failure'), cancel: () => settle('cancel') };
  }

  /**
   * A failure found after the call already reported success (a stream cut after its headers):
   * counts only while closed, so it cannot disturb an open circuit's cool-down or a probe.
   */
  reportLateFailure(): void {
    if (this.state === 'closed') this.recordFailure();
  }

  private recordSuccess(): void {
    this.consecutiveFailures = 0;
    this.remember(true);
    if (this.state !== 'closed') this.transition('closed');
  }

  private recordFailure(): void {
    this.consecutiveFailures++;
    this.remember(false);
    if (this.state === 'half-open' || this.consecutiveFailures >= this.opts.failureThreshold || this.rateTripped()) {
      this.transition('open');
    }
  }

  private remember(ok: boolean): void {
    if (!this.opts.failureRate) return;
    const now = this.opts.clock();
    this.window.push({ at: now, ok });
    const from = now - this.opts.failureRate.windowMs;
    while (this.window.length > 0 && this.window[0].at < from) this.window.shift();
  }

  private rateTripped(): boolean {
    const rate = this.opts.failureRate;
    if (!rate || this.window.length < rate.minRequests) return false;
    const failed = this.window.filter((e) => !e.ok).length;
    return failed / this.window.length >= rate.threshold;
  }

  /** Open → half-open happens lazily, when someone looks after the cool-down. */
  private tick(): void {
    if (this.state === 'open' && this.remainingCooldown() === 0) this.transition('half-open');
  }

  private remainingCooldown(): number {
    if (this.state !== 'open' || this.openedAt === null) return 0;
    return Math.max(0, this.openedAt + this.opts.cooldownMs - this.opts.clock());
  }

  private transition(state: BreakerState): void {
    this.state = state;
    this.epoch++;
    this.probeInFlight = false;
    if (state === 'open') this.openedAt = this.opts.clock();
    if (state === 'closed') {
      this.openedAt = null;
      this.window = [];
    }
    this.onStateChange?.(state, this.name);
  }

  private failFast(reason: string, retryAfterMs: number): CircuitOpenError {
    return new CircuitOpenError(this.name, reason, retryAfterMs);
  }
}

/** The fail-fast error: a 503 model_unavailable with Retry-After = the remaining cool-down. */
export class CircuitOpenError extends ApiError {
  constructor(
    readonly model: string,
    reason: string,
    readonly retryAfterMs: number,
  ) {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super(ErrorCode.ModelUnavailable, `Model "${model}" is unavailable: ${reason}; retry in ${seconds}s`, null, {
      'Retry-After': String(seconds),
    });
    this.name = 'CircuitOpenError';
  }
}
