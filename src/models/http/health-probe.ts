import type { Pool } from 'undici';
import type { ProviderHealth } from '../provider.interface';
import { errorCodeOf } from './upstream-errors';

/**
 * `GET {base_url}/models` with a short timeout, cached for a few seconds and shared by
 * concurrent callers, so /readyz and /admin/models never stampede an upstream.
 */
export class HealthProbe {
  private readonly timeoutMs: number;
  private readonly cacheMs: number;
  private cached: { at: number; value: ProviderHealth } | undefined;
  private pending: Promise<ProviderHealth> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly path: string,
    private readonly headers: Record<string, string>,
    opts: { timeoutMs?: number; cacheMs?: number } = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 2_000;
    this.cacheMs = opts.cacheMs ?? 5_000;
  }

  check(): Promise<ProviderHealth> {
    if (this.cached && Date.now() - this.cached.at < this.cacheMs) return Promise.resolve(this.cached.value);
    this.pending ??= this.probe()
      .then((value) => {
        this.cached = { at: Date.now(), value };
        return value;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  private async probe(): Promise<ProviderHealth> {
    try {
      // The signal bounds connect + headers + body in one go.
      const res = await this.pool.request({
        method: 'GET',
        path: this.path,
        headers: this.headers,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) return { up: true };
      return { up: false, detail: `GET ${this.path} answered HTTP ${res.statusCode}` };
    } catch (err) {
      const code = errorCodeOf(err) ?? (err instanceof Error ? err.name : 'error');
      return { up: false, detail: `GET ${this.path} failed: ${code}` };
    }
  }
}
