import type { AppConfig } from '../config/app-config';

/** QUOTA_PERIOD's values (declared once, in the env schema). */
export type QuotaPeriodKind = AppConfig['quota']['period'];

export interface QuotaPeriod {
  start: Date;
  /** The next period's start: when the quota resets. */
  end: Date;
}

/** The period containing `at`, in UTC: months on the 1st, weeks on Monday, days at 00:00. */
export function periodAt(kind: QuotaPeriodKind, at: Date): QuotaPeriod {
  const y = at.getUTCFullYear();
  const m = at.getUTCMonth();
  const d = at.getUTCDate();
  if (kind === 'monthly') return { start: new Date(Date.UTC(y, m, 1)), end: new Date(Date.UTC(y, m + 1, 1)) };
  if (kind === 'daily') return { start: new Date(Date.UTC(y, m, d)), end: new Date(Date.UTC(y, m, d + 1)) };
  const sinceMonday = (at.getUTCDay() + 6) % 7;
  return { start: new Date(Date.UTC(y, m, d - sinceMonday)), end: new Date(Date.UTC(y, m, d - sinceMonday + 7)) };
}
