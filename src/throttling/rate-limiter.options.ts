import type { Clock } from '../common/clock';

export const RATE_LIMITER_OPTIONS = Symbol('RATE_LIMITER_OPTIONS');

/** Production uses the defaults; tests shorten the window or drive a clock. */
export interface RateLimiterOptions {
  /** Length of the "per minute" window. Default 60 000. */
  windowMs?: number;
  /** Buckets per window (precision). Default 60: one-second buckets. */
  buckets?: number;
  /** Redis key prefix. Default `llm:`. */
  prefix?: string;
  /**
   * Time source for decisions. Unset: Redis's clock in Redis mode (one clock for all
   * replicas) and the system clock locally.
   */
  clock?: Clock;
}
