import type { CacheEntry } from '../cached-entry';

/**
 * The first tier: Redis when REDIS_URL is set (shared by replicas), else an in-process LRU.
 * Failures are misses and no-ops: L1 never fails a request.
 */
export abstract class L1Store {
  abstract readonly kind: 'memory' | 'redis';
  /** False while lookups cannot happen (Redis down, in-process L1 sized 0): skip the tier. */
  abstract get active(): boolean;
  /** Memory answers synchronously (the hit path has no await); Redis answers with a promise. */
  abstract get(model: string, id: string, now: number): CacheEntry | undefined | Promise<CacheEntry | undefined>;
  abstract set(id: string, entry: CacheEntry, now: number): void | Promise<void>;
  /** Removes one model's entries, or all; rejects when that was impossible (Redis down). */
  abstract purge(model?: string): Promise<void>;
}
