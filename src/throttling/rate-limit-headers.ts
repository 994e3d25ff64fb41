import type { LimitState } from './sliding-window';

/** OpenAI's duration format (Go's): `120ms`, `1s`, `59.2s`, `6m0s`, `1h2m3s`. */
export function formatResetDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  if (total === 0) return '0s';
  if (total < 1000) return `${total}ms`;
  // Whole milliseconds over 1000 print with at most three decimals, as Go's format does.
  const seconds = (n: number) => `${n / 1000}s`;
  if (total < 60_000) return seconds(total);
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const rest = seconds(total % 60_000);
  return h ? `${h}h${m}m${rest}` : `${m}m${rest}`;
}

export type LimitKind = 'requests' | 'tokens';

const NAMES: Record<LimitKind, readonly [string, string, string]> = {
  requests: ['x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests'],
  tokens: ['x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens'],
};

/** `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` (names precomputed: this runs twice per request). */
export function rateLimitHeaders(kind: LimitKind, s: LimitState): Record<string, string> {
  const [limit, remaining, reset] = NAMES[kind];
  const h: Record<string, string> = {};
  h[limit] = String(s.limit);
  h[remaining] = String(s.remaining);
  h[reset] = formatResetDuration(s.resetMs);
  return h;
}

/** `Retry-After` in whole seconds (at least 1) and OpenAI's `retry-after-ms`. */
export function retryHeaders(retryAfterMs: number): Record<string, string> {
  const ms = Math.max(1, Math.ceil(retryAfterMs));
  return { 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))), 'retry-after-ms': String(ms) };
}
