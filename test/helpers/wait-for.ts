/**
 * The one polling helper of the test suite: waits for state that changes asynchronously (a mode
 * switch after Redis comes back, rows a batched writer has flushed, a line a child printed). Use it
 * instead of a fixed sleep before an assertion; see docs/testing.md.
 */
export interface WaitForOptions<T> {
  /** When the probed value is good enough; by default, when it is truthy. */
  until?: (value: T) => boolean;
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Pause between probes (default 20 ms). */
  intervalMs?: number;
  /** Checked after every unmet probe: a message here fails at once (e.g. the child exited). */
  abortIf?: () => string | undefined;
  /** Extra context for the failure message (e.g. what a child process printed). */
  describe?: () => string;
}

/** Thrown when the time runs out (not when `abortIf` stops the wait). */
export class WaitForTimeout extends Error {}

/**
 * Probes until `until(value)` holds and returns that value. On timeout it fails naming `what`,
 * with the last value seen (or the last error the probe threw: a probe may throw while the
 * thing it asks is not up yet).
 */
export function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  options: WaitForOptions<T> & { until: (value: T) => boolean },
): Promise<T>;
/** Without `until`, waits for a truthy value: the result is never null or undefined. */
export function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  options?: Omit<WaitForOptions<T>, 'until'>,
): Promise<NonNullable<T>>;
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  options: WaitForOptions<T> = {},
): Promise<T> {
  const { until = (v: T) => Boolean(v), timeoutMs = 10_000, intervalMs = 20 } = options;
  const end = Date.now() + timeoutMs;
  let last: { value: T } | { error: unknown } | undefined;
  for (;;) {
    try {
      const value = await probe();
      if (until(value)) return value;
      last = { value };
    } catch (error) {
      last = { error };
    }
    const aborted = options.abortIf?.();
    if (aborted !== undefined) throw new Error(`${aborted} before ${what}${context(options)}`);
    if (Date.now() >= end)
      throw new WaitForTimeout(`timed out after ${timeoutMs} ms waiting for ${what}; ${show(last)}${context(options)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function show(last: { value: unknown } | { error: unknown } | undefined): string {
  if (!last) return 'never probed';
  if ('error' in last)
    return `last probe threw: ${last.error instanceof Error ? last.error.message : String(last.error)}`;
  return `last value: ${stringify(last.value)}`;
}

function stringify(v: unknown): string {
  if (v === undefined) return 'undefined';
  try {
    const s = JSON.stringify(v);
    return s.length > 500 ? `${s.slice(0, 500)}…` : s;
  } catch {
    return String(v);
  }
}

function context(options: { describe?: () => string }): string {
  const extra = options.describe?.();
  return extra ? `\n${extra}` : '';
}
