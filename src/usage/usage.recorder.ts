import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { FlushRegistry } from '../common/lifecycle/flush.registry';
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

/**
 * Per key, model and day totals, summed in memory and written behind to usage_daily in one
 * upsert per interval (QUOTA_FLUSH_MS) and at shutdown. Tokens of cache hits are counted only
 * when CACHE_HITS_COUNT_TOKENS is on, so the rollups agree with the quota ledger.
 */
@Injectable()
export class UsageRecorder implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(UsageRecorder.name);
  private pending = new Map<string, DailyUsage>();
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly repo: UsageRepository,
    private readonly config: AppConfig,
    flushes: FlushRegistry,
  ) {
    flushes.register('usage rollups', () => this.flush());
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), this.config.quota.flushMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** Off the request path: never waits, never throws. */
  record(u: UsageEvent): void {
    const counts = !u.cached || this.config.quota.cacheHitsCountTokens;
    this.add({
      day: (u.at ?? new Date()).toISOString().slice(0, 10),
      keyId: u.keyId,
      model: u.model,
      requests: 1,
      promptTokens: counts ? whole(u.promptTokens) : 0,
      completionTokens: counts ? whole(u.completionTokens) : 0,
      cachedRequests: u.cached ? 1 : 0,
    });
  }

  /** Not yet written rows of one key (GET /v1/usage adds them to the database's). */
  pendingFor(keyId: string): DailyUsage[] {
    return [...this.pending.values()].filter((r) => r.keyId === keyId).map((r) => ({ ...r }));
  }

  /** Resolves to the number of rollup rows written. */
  flush(): Promise<number> {
    const run = this.flushing.then(async () => {
      if (!this.pending.size) return 0;
      const batch = [...this.pending.values()];
      this.pending = new Map();
      try {
        await this.repo.addDaily(batch);
        return batch.length;
      } catch (err) {
        for (const r of batch) this.add(r);
        this.logger.warn(`usage rollups not written yet (${batch.length} rows kept): ${(err as Error).message}`);
        return 0;
      }
    });
    this.flushing = run.then(() => undefined);
    return run;
  }

  private add(r: DailyUsage): void {
    const k = `${r.day}|${r.keyId}|${r.model}`;
    const e = this.pending.get(k);
    if (!e) return void this.pending.set(k, { ...r });
    e.requests += r.requests;
    e.promptTokens += r.promptTokens;
    e.completionTokens += r.completionTokens;
    e.cachedRequests += r.cachedRequests;
  }
}

function whole(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.ceil(n) : 0;
}
