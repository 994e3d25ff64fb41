import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { InferenceLogRepository } from './inference-log.repository';

const DAY_MS = 86_400_000;
const FIRST_RUN_MS = 60_000;
const INTERVAL_MS = 10 * 60_000;
const BATCH_ROWS = 5_000;

/**
 * Deletes inference_logs rows older than LOG_RETENTION_DAYS (0 keeps them forever), on a timer,
 * in small batches so no statement holds many locks or bloats one transaction. Every replica runs
 * it; SKIP LOCKED keeps them from stepping on each other.
 */
@Injectable()
export class InferenceLogRetention implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(InferenceLogRetention.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private stopped = false;

  constructor(
    private readonly repo: InferenceLogRepository,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    if (!this.config.observability.logRetentionDays) return;
    const run = () =>
      void this.purge().catch((err) => this.logger.warn(`inference_logs retention failed: ${(err as Error).message}`));
    this.timer = setTimeout(() => {
      run();
      this.timer = setInterval(run, INTERVAL_MS);
      this.timer.unref();
    }, FIRST_RUN_MS);
    this.timer.unref();
  }

  /** Deletes everything older than the retention window, batch by batch; returns the row count. */
  purge(now = new Date(), batchRows = BATCH_ROWS): Promise<number> {
    const days = this.config.observability.logRetentionDays;
    if (!days) return Promise.resolve(0);
    return (this.running ??= this.deleteBatches(new Date(now.getTime() - days * DAY_MS), batchRows).finally(
      () => (this.running = undefined),
    ));
  }

  private async deleteBatches(cutoff: Date, batchRows: number): Promise<number> {
    let total = 0;
    for (;;) {
      if (this.stopped) return total;
      const n = await this.repo.deleteOlderThan(cutoff, batchRows);
      total += n;
      if (n < batchRows) break;
      // Let requests and log flushes have the pool between batches.
      await new Promise((r) => setImmediate(r));
    }
    if (total) this.logger.log(`inference_logs retention: deleted ${total} rows older than ${cutoff.toISOString()}`);
    return total;
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }
}
