import { Injectable } from '@nestjs/common';

export type CacheTier = 'l1' | 'l2';
export type LookupResult = 'hit' | 'miss';

/** The metrics module implements this and registers it with `CacheStats.addHook`. */
export interface CacheLookupHook {
  onLookup(tier: CacheTier, result: LookupResult): void;
}

export interface CacheCounters {
  l1: Record<LookupResult, number>;
  l2: Record<LookupResult, number>;
  /** Requests served by joining an identical request in flight (they answer `x-cache: hit`). */
  coalesced: number;
  /** Requests that did not use the cache (mode, determinism, no-store, no-cache). */
  bypass: number;
  stored: number;
  expired: number;
  evicted: number;
}

/** Counters since start plus hooks: a lookup costs two increments, never an await. */
@Injectable()
export class CacheStats {
  readonly counters: CacheCounters = {
    l1: { hit: 0, miss: 0 },
    l2: { hit: 0, miss: 0 },
    coalesced: 0,
    bypass: 0,
    stored: 0,
    expired: 0,
    evicted: 0,
  };
  private hooks: CacheLookupHook[] = [];

  addHook(hook: CacheLookupHook): void {
    this.hooks.push(hook);
  }

  lookup(tier: CacheTier, result: LookupResult): void {
    this.counters[tier][result]++;
    for (const h of this.hooks) {
      try {
        h.onLookup(tier, result);
      } catch {
        // A metrics bug must not fail a request.
      }
    }
  }
}
