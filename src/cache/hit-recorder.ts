import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { CacheTuning } from './cache-tuning';
import { CompletionCacheRepository } from './completion-cache.repository';

/** Past this many distinct keys waiting (database down for long), the oldest counts are dropped. */
const MAX_PENDING = 100_000;

/**
 * Hit counts and last-hit times, aggregated in memory and written in one statement per
 * interval (and at shutdown, after the cache's own writes: see CompletionCache): a hit never
 * waits for, or causes, a write of its own.
 */
@Injectable()
export class HitRecorder implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('CompletionCache');
  private pending = new Map<string, { n: number; at: number }>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly repo: CompletionCacheRepository,
    private readonly tuning: CacheTuning,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), this.tuning.hitFlushMs);
    this.timer.unref();
  }

  record(id: string, at: number): void {
    const p = this.pending.get(id);
    if (p === undefined) this.pending.set(id, { n: 1, at });
    else {
      p.n++;
      if (at > p.at) p.at = at;
    }
  }

  get pendingKeys(): number {
    return this.pending.size;
  }

  /** Resolves to the number of cache entries whose hit count was written. */
  async flush(): Promise<number> {
    if (!this.pending.size) return 0;
    const batch = this.pending;
    this.pending = new Map();
    const keys: Buffer[] = [];
    const counts: number[] = [];
    const times: Date[] = [];
    for (const [id, p] of batch) {
      keys.push(Buffer.from(id, 'hex'));
      counts.push(p.n);
      times.push(new Date(p.at));
    }
    try {
      await this.repo.recordHits(keys, counts, times);
      return batch.size;
    } catch (err) {
      // Merge back for the next attempt (also covers a deadlock with another replica's batch).
      for (const [id, p] of batch) {
        if (this.pending.size >= MAX_PENDING) break;
        const q = this.pending.get(id);
        if (q) {
          q.n += p.n;
          q.at = Math.max(q.at, p.at);
        } else this.pending.set(id, p);
      }
      this.logger.warn(`could not record cache hits: ${(err as Error).message}`);
      return 0;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
