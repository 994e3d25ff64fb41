import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { CacheStats } from './cache-stats';
import { CacheClock, CacheTuning } from './cache-tuning';
import { CompletionCacheRepository } from './completion-cache.repository';

/** Rounds per sweep: bounds one sweep's work; the next interval continues. */
const MAX_ROUNDS = 50;

/**
 * Keeps completion_cache within CACHE_MAX_ENTRIES and free of expired rows, in batches, on a
 * timer and after a burst of stores — never on a request's path. The bound is soft: between
 * sweeps the table can exceed it by the rows stored since the last one.
 */
@Injectable()
export class CacheEvictor implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('CompletionCache');
  private timer?: NodeJS.Timeout;
  private running?: Promise<{ expired: number; evicted: number }>;
  private storesSinceSweep = 0;

  constructor(
    private readonly repo: CompletionCacheRepository,
    private readonly config: AppConfig,
    private readonly tuning: CacheTuning,
    private readonly clock: CacheClock,
    private readonly stats: CacheStats,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.sweep(), this.tuning.sweepIntervalMs);
    this.timer.unref();
  }

  /** Called per store: a burst of new rows triggers a sweep before the timer would. */
  noteStore(): void {
    if (++this.storesSinceSweep >= Math.max(100, Math.ceil(this.config.cache.maxEntries / 20))) void this.sweep();
  }

  /** Runs (or joins) one sweep; resolves with what it deleted. Never rejects. */
  sweep(): Promise<{ expired: number; evicted: number }> {
    return (this.running ??= this.doSweep().finally(() => (this.running = undefined)));
  }

  private async doSweep(): Promise<{ expired: number; evicted: number }> {
    this.storesSinceSweep = 0;
    const total = { expired: 0, evicted: 0 };
    const batch = this.tuning.sweepBatch;
    try {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const r = await this.repo.sweep(new Date(this.clock.now()), this.config.cache.maxEntries, batch);
        if (!r) break;
        total.expired += r.expired;
        total.evicted += r.evicted;
        if (r.expired < batch && r.evicted < batch) break;
      }
    } catch (err) {
      this.logger.warn(`cache sweep failed: ${(err as Error).message}`);
    }
    this.stats.counters.expired += total.expired;
    this.stats.counters.evicted += total.evicted;
    return total;
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
