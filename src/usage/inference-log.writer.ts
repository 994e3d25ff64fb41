import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { FlushRegistry } from '../common/lifecycle/flush.registry';
import { AppConfig } from '../config/app-config';
import { LogDropReason, MetricsService } from '../metrics/metrics.service';
import { BoundedBuffer } from './inference-log.buffer';
import { InferenceLogRepository } from './inference-log.repository';
import { asciiRow, InferenceLogEntry, InferenceLogRow, toRow } from './inference-log.row';

const MAX_BACKOFF_MS = 5_000;
const WARN_EVERY_MS = 10_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** SQLSTATE classes 22 (data exception) and 23 (constraint): retrying the same row cannot help. */
function isRowError(err: unknown): boolean {
  const e = err as { code?: unknown; driverError?: { code?: unknown } };
  const code = e?.code ?? e?.driverError?.code;
  return typeof code === 'string' && /^2[23]/.test(code);
}

/**
 * Writes inference_logs off the request path: record() only appends to a bounded buffer, which is
 * flushed in multi-row inserts when it holds LOG_FLUSH_ROWS rows or every LOG_FLUSH_MS. While
 * PostgreSQL is unreachable the rows wait (the oldest are dropped beyond LOG_BUFFER_MAX, with a
 * metric and a warning) and the batch is retried with exponential backoff. Shutdown drains it.
 */
@Injectable()
export class InferenceLogWriter implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(InferenceLogWriter.name);
  private readonly buffer: BoundedBuffer<InferenceLogRow>;
  private readonly batchRows: number;
  private readonly initialBackoffMs: number;
  private timer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private flushing?: Promise<boolean>;
  private backoffMs = 0;
  private closed = false;
  private unreported = { buffer_full: 0, invalid: 0, shutdown: 0 };
  private lastWarnAt = 0;
  /** Rows written since start (the shutdown line reports what the drain wrote). */
  private writtenRows = 0;

  constructor(
    private readonly repo: InferenceLogRepository,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    flushes: FlushRegistry,
  ) {
    const o = config.observability;
    this.buffer = new BoundedBuffer(o.logBufferMax);
    this.batchRows = Math.max(1, Math.min(o.logFlushRows, o.logBufferMax));
    this.initialBackoffMs = Math.min(o.logFlushMs, 1_000);
    flushes.register('inference_logs rows', () => this.drain());
  }

  onModuleInit(): void {
    this.timer = setInterval(() => this.tick(), this.config.observability.logFlushMs);
    this.timer.unref();
  }

  /** Never blocks and never throws: the row is written within LOG_FLUSH_MS, or on shutdown. */
  record(entry: InferenceLogEntry): void {
    if (this.closed) {
      this.drop('shutdown', 1);
      return;
    }
    const dropped = this.buffer.push(toRow(entry));
    if (dropped) this.drop('buffer_full', dropped);
    if (this.buffer.size >= this.batchRows && !this.flushing && !this.retryTimer) void this.flush();
  }

  /** Rows waiting in memory. */
  get pending(): number {
    return this.buffer.size;
  }

  /** Writes everything buffered (one flush at a time); false when a batch failed and waits for its retry. */
  flush(): Promise<boolean> {
    return (this.flushing ??= this.writeAll().finally(() => (this.flushing = undefined)));
  }

  /**
   * Shutdown: keeps flushing (with backoff) until the buffer is empty or `budgetMs` has passed;
   * what is left then is reported as lost. Returns the rows written meanwhile.
   */
  async drain(budgetMs = this.config.http.shutdownTimeoutMs): Promise<number> {
    const before = this.writtenRows;
    const deadline = Date.now() + budgetMs;
    let wait = this.initialBackoffMs;
    for (;;) {
      this.cancelRetry();
      const done = await Promise.race([this.flush(), sleep(Math.max(0, deadline - Date.now())).then(() => 'timeout' as const)]);
      this.cancelRetry();
      if (done === true && !this.buffer.size) return this.writtenRows - before;
      if (done === true) continue; // rows recorded while that flush ran
      if (done === 'timeout' || Date.now() + wait > deadline) break;
      await sleep(wait);
      wait = Math.min(wait * 2, MAX_BACKOFF_MS);
    }
    this.cancelRetry();
    const lost = this.buffer.take(Infinity).length;
    if (lost) {
      this.drop('shutdown', lost);
      this.logger.error(`shutdown: ${lost} inference_logs rows could not be written in ${budgetMs} ms and are lost`);
    }
    return this.writtenRows - before;
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.drain();
    this.closed = true;
  }

  private tick(): void {
    this.metrics.setInferenceLogsBuffered(this.buffer.size);
    if (this.buffer.size && !this.retryTimer) void this.flush();
    this.reportDrops();
  }

  private async writeAll(): Promise<boolean> {
    while (this.buffer.size) {
      const batch = this.buffer.take(this.batchRows);
      try {
        await this.repo.insertMany(batch);
        this.written(batch.length);
      } catch (err) {
        if (!isRowError(err)) return this.failed(batch, err);
        // One bad row must not hold back the others: find it by writing them one at a time.
        for (let i = 0; i < batch.length; i++) {
          try {
            await this.repo.insertMany([batch[i]]);
            this.written(1);
          } catch (rowErr) {
            if (!isRowError(rowErr)) return this.failed(batch.slice(i), rowErr);
            if (await this.writeAscii(batch[i])) continue;
            this.drop('invalid', 1);
            // The message only: the driver's error also carries the parameters (docs/observability.md).
            this.logger.error(`inference_logs row for request ${asciiRow(batch[i]).requestId} refused: ${(rowErr as Error).message}`);
          }
        }
      }
    }
    this.metrics.setInferenceLogsBuffered(0);
    return true;
  }

  /** An audit row is never dropped for its content: retried once with its text reduced to ASCII. */
  private async writeAscii(row: InferenceLogRow): Promise<boolean> {
    try {
      await this.repo.insertMany([asciiRow(row)]);
      this.written(1);
      return true;
    } catch {
      return false;
    }
  }

  private written(n: number): void {
    this.writtenRows += n;
    this.metrics.inferenceLogsWritten(n);
    if (this.backoffMs) {
      this.backoffMs = 0;
      this.logger.log('inference_logs writes recovered');
    }
  }

  private failed(batch: InferenceLogRow[], err: unknown): false {
    const dropped = this.buffer.putBack(batch);
    if (dropped) this.drop('buffer_full', dropped);
    this.metrics.inferenceLogFlushFailed();
    this.metrics.setInferenceLogsBuffered(this.buffer.size);
    if (!this.backoffMs) this.logger.warn(`inference_logs write failed (${(err as Error).message}); ${this.buffer.size} rows held, retrying with backoff`);
    this.backoffMs = this.backoffMs ? Math.min(this.backoffMs * 2, MAX_BACKOFF_MS) : this.initialBackoffMs;
    if (!this.closed) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        void this.flush();
      }, this.backoffMs);
      this.retryTimer.unref();
    }
    return false;
  }

  private cancelRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private drop(reason: LogDropReason, n: number): void {
    this.metrics.inferenceLogsDropped(reason, n);
    this.unreported[reason] += n;
    this.reportDrops();
  }

  /** At most one warning per WARN_EVERY_MS, however many rows are dropped. */
  private reportDrops(now = Date.now()): void {
    const u = this.unreported;
    if (!(u.buffer_full || u.invalid || u.shutdown) || now - this.lastWarnAt < WARN_EVERY_MS) return;
    this.lastWarnAt = now;
    this.logger.warn(
      `inference_logs rows dropped: ${u.buffer_full} oldest (buffer full at LOG_BUFFER_MAX=${this.buffer.max}), ` +
        `${u.invalid} refused by the database, ${u.shutdown} recorded after shutdown`,
    );
    this.unreported = { buffer_full: 0, invalid: 0, shutdown: 0 };
  }
}
