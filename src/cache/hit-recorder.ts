import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { DropCounts } from '../common/lifecycle/flush.registry';
import { MergingBuffer } from '../common/lifecycle/merging-buffer';
import { WriteBehind } from '../common/lifecycle/write-behind';
import { CacheTuning } from './cache-tuning';
import { CompletionCacheRepository } from './completion-cache.repository';

/** Past this many distinct keys waiting (database down for long), the oldest counts are dropped. */
const MAX_PENDING = 100_000;

interface PendingHits {
  id: string;
  n: number;
  at: number;
}

/**
 * Hit counts and last-hit times, aggregated in memory and written in one statement per
 * interval (and at shutdown, after the cache's own writes: CompletionCache registers close()
 * with FlushRegistry): a hit never waits for, or causes, a write of its own.
 */
@Injectable()
export class HitRecorder implements OnModuleInit, OnModuleDestroy {
  private readonly writes: WriteBehind<PendingHits, MergingBuffer<PendingHits>>;

  constructor(repo: CompletionCacheRepository, tuning: CacheTuning) {
    // Merging back a failed batch also covers a deadlock with another replica's batch.
    const buffer = new MergingBuffer<PendingHits>(
      MAX_PENDING,
      (h) => h.id,
      (a, b) => ({ id: a.id, n: a.n + b.n, at: Math.max(a.at, b.at) }),
    );
    this.writes = new WriteBehind(buffer, {
      what: 'cache hit counts',
      logContext: 'CompletionCache',
      intervalMs: tuning.hitFlushMs,
      write: (batch) =>
        repo.recordHits(
          batch.map((h) => Buffer.from(h.id, 'hex')),
          batch.map((h) => h.n),
          batch.map((h) => new Date(h.at)),
        ),
    });
  }

  onModuleInit(): void {
    this.writes.start();
  }

  onModuleDestroy(): void {
    this.writes.stop();
  }

  record(id: string, at: number): void {
    this.writes.add({ id, n: 1, at });
  }

  /** Keys dropped since start, by reason (FlushRegistry hands them to the metrics). */
  get dropped(): DropCounts {
    return this.writes.dropped;
  }

  get pendingKeys(): number {
    return this.writes.pending.size;
  }

  /** Resolves to the number of cache entries whose hit count was written. */
  flush(): Promise<number> {
    return this.writes.flush();
  }

  /** The one shutdown flush (CompletionCache registers it, after its own writes). */
  close(): Promise<number> {
    return this.writes.close();
  }
}
