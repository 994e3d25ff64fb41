import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { FlushRegistry } from '../common/lifecycle/flush.registry';
import { AppConfig } from '../config/app-config';
import { ApiKeysRepository } from './api-keys.repository';

/** Collects last-used times in memory and writes them in one statement per interval. */
@Injectable()
export class LastUsedTracker implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(LastUsedTracker.name);
  private pending = new Map<string, Date>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly repo: ApiKeysRepository,
    private readonly config: AppConfig,
    flushes: FlushRegistry,
  ) {
    flushes.register('last_used_at', () => this.flush());
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), this.config.auth.lastUsedFlushMs);
    this.timer.unref();
  }

  touch(keyId: string, at = new Date()): void {
    this.pending.set(keyId, at);
  }

  /** Resolves to the number of keys whose last_used_at was written. */
  async flush(): Promise<number> {
    if (!this.pending.size) return 0;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.repo.touchLastUsed([...batch.keys()], [...batch.values()]);
      return batch.size;
    } catch (err) {
      // Keep the newest times for the next attempt.
      for (const [id, t] of batch) if (!this.pending.has(id)) this.pending.set(id, t);
      this.logger.warn(`could not record last-used times: ${(err as Error).message}`);
      return 0;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
