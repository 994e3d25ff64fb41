import { Injectable } from '@nestjs/common';
import { FlushRegistry } from '../common/lifecycle/flush.registry';
import { MergingBuffer } from '../common/lifecycle/merging-buffer';
import { WriteBehind } from '../common/lifecycle/write-behind';
import { AppConfig } from '../config/app-config';
import { ApiKeysRepository } from './api-keys.repository';

interface LastUse {
  keyId: string;
  at: Date;
}

/** Past this many keys waiting (database down for long), the oldest times are dropped. */
const MAX_PENDING = 100_000;

/** Collects last-used times in memory and writes them in one statement per interval. */
@Injectable()
export class LastUsedTracker {
  private readonly writes: WriteBehind<LastUse, MergingBuffer<LastUse>>;

  constructor(repo: ApiKeysRepository, config: AppConfig, flushes: FlushRegistry) {
    // A failed batch merged back keeps the newest time of each key.
    const buffer = new MergingBuffer<LastUse>(
      MAX_PENDING,
      (u) => u.keyId,
      (a, b) => (b.at > a.at ? b : a),
    );
    this.writes = new WriteBehind(buffer, {
      what: 'last_used_at',
      logContext: LastUsedTracker.name,
      intervalMs: config.auth.lastUsedFlushMs,
      write: (batch) =>
        repo.touchLastUsed(
          batch.map((u) => u.keyId),
          batch.map((u) => u.at),
        ),
    });
    flushes.track(this.writes);
  }

  touch(keyId: string, at = new Date()): void {
    this.writes.add({ keyId, at });
  }

  /** Resolves to the number of keys whose last_used_at was written. */
  flush(): Promise<number> {
    return this.writes.flush();
  }
}
