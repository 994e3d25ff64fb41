import { Injectable } from '@nestjs/common';
import { FlushRegistry } from '../common/lifecycle/flush.registry';
import { MergingBuffer } from '../common/lifecycle/merging-buffer';
import { WriteBehind } from '../common/lifecycle/write-behind';
import { AppConfig } from '../config/app-config';
import { DailyUsage, UsageRepository } from './usage.repository';

export interface UsageEvent {
  keyId: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  cached: boolean;
  at?: Date;
}

/** Past this many key-model-days waiting (database down for long), the oldest are dropped. */
const MAX_PENDING = 100_000;

/**
 * Per key, model and day totals, summed in memory and written behind to usage_daily in one
 * upsert per interval (QUOTA_FLUSH_MS) and at shutdown. Tokens of cache hits are counted only
 * when CACHE_HITS_COUNT_TOKENS is on, so the rollups agree with the quota ledger.
 */
@Injectable()
export class UsageRecorder {
  private readonly writes: WriteBehind<DailyUsage, MergingBuffer<DailyUsage>>;
  private dayStart = -Infinity;
  private day = '';

  constructor(
    repo: UsageRepository,
    private readonly config: AppConfig,
    flushes: FlushRegistry,
  ) {
    const buffer = new MergingBuffer<DailyUsage>(MAX_PENDING, (r) => `${r.day}|${r.keyId}|${r.model}`, sum);
    this.writes = new WriteBehind(buffer, {
      what: 'usage rollups',
      logContext: UsageRecorder.name,
      intervalMs: config.quota.flushMs,
      write: (batch) => repo.addDaily(batch),
    });
    flushes.track(this.writes);
  }

  /** Off the request path: never waits, never throws. */
  record(u: UsageEvent): void {
    const counts = !u.cached || this.config.quota.cacheHitsCountTokens;
    this.writes.add({
      day: u.at ? utcDay(u.at.getTime()) : this.today(),
      keyId: u.keyId,
      model: u.model,
      requests: 1,
      promptTokens: counts ? whole(u.promptTokens) : 0,
      completionTokens: counts ? whole(u.completionTokens) : 0,
      cachedRequests: u.cached ? 1 : 0,
    });
  }

  /** The current UTC day, formatted once per day rather than once per request. */
  private today(now = Date.now()): string {
    if (now < this.dayStart || now >= this.dayStart + DAY_MS) {
      this.dayStart = now - (now % DAY_MS);
      this.day = utcDay(now);
    }
    return this.day;
  }

  /**
   * Reads the database with `read` and takes this replica's not yet written rows of one key, with
   * no flush in flight: a batch being written is in neither place, so a read beside a flush would
   * miss it (GET /v1/usage adds the pending rows to the database's).
   */
  readWithPending<R>(keyId: string, read: () => Promise<R>): Promise<{ rows: R; pending: DailyUsage[] }> {
    return this.writes.exclusive(async () => ({ rows: await read(), pending: this.pendingFor(keyId) }));
  }

  private pendingFor(keyId: string): DailyUsage[] {
    return [...this.writes.pending.values()].filter((r) => r.keyId === keyId).map((r) => ({ ...r }));
  }

  /** Resolves to the number of rollup rows written. */
  flush(): Promise<number> {
    return this.writes.flush();
  }
}

/** Adds `b` into `a`, in place: `a` is the buffer's own row (readers get copies), merged once per request. */
function sum(a: DailyUsage, b: DailyUsage): DailyUsage {
  a.requests += b.requests;
  a.promptTokens += b.promptTokens;
  a.completionTokens += b.completionTokens;
  a.cachedRequests += b.cachedRequests;
  return a;
}

const DAY_MS = 86_400_000;

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function whole(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.ceil(n) : 0;
}
