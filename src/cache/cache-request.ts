import type { ChatMessage, GenerationParams, StreamEvent } from '../models/provider.interface';
import type { CacheTier } from './cache-stats';

/** The public contract of CompletionCache.run (see docs/cache.md). */
export interface CacheRequest {
  /** The resolved model id, not an alias. */
  model: string;
  /** LlmProvider.version. */
  version: string;
  prompt?: string;
  messages?: ChatMessage[];
  params: GenerationParams;
  /** The model's `cache_ttl` from models.yaml; default CACHE_TTL_SECONDS; 0 = never cache this model. */
  ttlSeconds?: number;
  /** The raw Cache-Control request header. */
  cacheControl?: string | string[];
  /** Choices asked for (`n`, `best_of`): more than one is never cached. */
  choices?: number;
  /** Other output-changing inputs the pipeline may add later (response_format, tools ...). */
  extra?: Record<string, unknown>;
}

/** `x-cache`: coalesced followers answer `hit` (and say `coalesced: true`). */
export type CacheSource = 'hit' | 'miss' | 'bypass';

export interface CacheRunResult {
  source: CacheSource;
  /** Which tier answered a hit; absent for coalesced followers and misses. */
  tier?: CacheTier;
  /** True when this request joined an identical one in flight on this replica. */
  coalesced?: boolean;
  /** Deltas then one `done`; consume to the end or call `return()`. Events are shared: do not mutate. */
  events: AsyncIterableIterator<StreamEvent>;
}

export interface ComputeContext {
  /** The answer must not be stored (e.g. a fallback model answered instead of the requested one). */
  doNotStore(): void;
}

/** The pipeline's call into the router; the signal aborts only when no consumer remains. */
export type ComputeFn = (signal: AbortSignal, ctx: ComputeContext) => AsyncIterable<StreamEvent>;
