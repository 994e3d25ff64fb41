import type { AppConfig } from '../config/app-config';
import type { GenerationParams } from '../models/provider.interface';

/** CACHE_MODE's values (declared once, in the env schema). */
export type CacheMode = AppConfig['cache']['mode'];

/**
 * - `bypass`: neither read nor write (mode off, no-store, not deterministic, ttl 0, n > 1);
 * - `write-only`: `Cache-Control: no-cache`: skip the lookup, store the fresh answer;
 * - `read-write`: the normal path.
 */
export type CachePolicy = 'bypass' | 'write-only' | 'read-write';

export interface CacheDirectives {
  noStore: boolean;
  noCache: boolean;
}

/** Request directives that matter here; `max-age=0` asks for a fresh answer like `no-cache`. */
export function parseCacheControl(header: string | string[] | undefined): CacheDirectives {
  const out = { noStore: false, noCache: false };
  if (!header) return out;
  const raw = Array.isArray(header) ? header.join(',') : header;
  for (const part of raw.split(',')) {
    const [name, value] = part.trim().toLowerCase().split('=', 2);
    if (name === 'no-store') out.noStore = true;
    else if (name === 'no-cache') out.noCache = true;
    else if (name === 'max-age' && value !== undefined && Number(value.replace(/"/g, '')) === 0) out.noCache = true;
  }
  return out;
}

/** Greedy decoding or a fixed seed: the same request gives the same text. */
export function isDeterministic(p: GenerationParams): boolean {
  return p.temperature === 0 || (p.seed !== undefined && p.seed !== null);
}

export function cachePolicy(
  mode: CacheMode,
  params: GenerationParams,
  cacheControl: string | string[] | undefined,
  ttlSeconds: number,
  choices = 1,
): CachePolicy {
  // Several choices are asked for to get different answers: replaying one set defeats that.
  if (mode === 'off' || !(ttlSeconds > 0) || choices > 1) return 'bypass';
  if (mode === 'deterministic' && !isDeterministic(params)) return 'bypass';
  const d = parseCacheControl(cacheControl);
  if (d.noStore) return 'bypass';
  return d.noCache ? 'write-only' : 'read-write';
}
