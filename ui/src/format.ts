/** Milliseconds for people: "840 ms", "1.24 s". */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** 1234567 → "1,234,567" (locale-independent, so tests and screenshots agree). */
export function formatInt(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Completion tokens per second after the first token (the decoding speed), or over the whole call. */
export function tokensPerSecond(completionTokens: number, latencyMs: number, ttftMs: number | null): string {
  if (!completionTokens || latencyMs <= 0) return '—';
  const decodeMs = ttftMs !== null && completionTokens > 1 && latencyMs > ttftMs ? latencyMs - ttftMs : latencyMs;
  const tokens =
    ttftMs !== null && completionTokens > 1 && latencyMs > ttftMs ? completionTokens - 1 : completionTokens;
  return `${(tokens / (decodeMs / 1000)).toFixed(1)} tok/s`;
}

/** ISO timestamp → "2026-11-28 09:00" (UTC), or "never". */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
