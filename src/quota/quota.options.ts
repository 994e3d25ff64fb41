import type { Clock } from '../common/clock';

export const QUOTA_OPTIONS = Symbol('QUOTA_OPTIONS');

/** Production uses the defaults; tests drive a clock across period boundaries. */
export interface QuotaOptions {
  clock?: Clock;
  /** Redis key prefix. Default `llm:`. */
  prefix?: string;
}
