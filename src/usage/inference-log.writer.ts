import { Injectable, Logger } from '@nestjs/common';
import { BoundedBuffer } from '../common/lifecycle/bounded-buffer';
import { FlushRegistry } from '../common/lifecycle/flush.registry';
import { PartialWriteError, WriteBehind } from '../common/lifecycle/write-behind';
import { AppConfig } from '../config/app-config';
import { LogDropReason, MetricsService } from '../metrics/metrics.service';
import { InferenceLogRepository } from './inference-log.repository';
import { asciiRow, InferenceLogEntry, InferenceLogRow, toRow } from './inference-log.row';

const WARN_EVERY_MS = 10_000;

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
 * metric and a warning) and the batch is retried with exponential backoff. Shutdown drains it,
 * retrying for up to SHUTDOWN_TIMEOUT_MS (docs/observability.md).
 */
@Injectable()
export class InferenceLogWriter {
  private readonly logger = new Logger(InferenceLogWriter.name);
  private readonly writes: WriteBehind<InferenceLogRow, BoundedBuffer<InferenceLogRow>>;
  private unreported = { buffer_full: 0, invalid: 0, shutdown: 0 };
  private lastWarnAt = 0;

  constructor(
    private readonly repo: InferenceLogRepository,
    config: AppConfig,
    private readonly metrics: MetricsService,
    flushes: FlushRegistry,
  ) {
    const o = config.observability;
    this.writes = new WriteBehind(new BoundedBuffer<InferenceLogRow>(o.logBufferMax), {
      what: 'inference_logs rows',
      logContext: InferenceLogWriter.name,
      intervalMs: o.logFlushMs,
      flushAt: Math.max(1, Math.min(o.logFlushRows, o.logBufferMax)),
      batchSize: o.logFlushRows,
      shutdownBudgetMs: config.http.shutdownTimeoutMs,
      write: (batch) => this.writeBatch(batch),
      onWritten: (n) => {
        metrics.inferenceLogsWritten(n);
        metrics.setInferenceLogsBuffered(this.writes.pending.size);
      },
      onFailed: () => {
        metrics.inferenceLogFlushFailed();
        metrics.setInferenceLogsBuffered(this.writes.pending.size);
      },
      onDrop: (reason, n) => this.drop(reason, n),
      onTick: () => {
        metrics.setInferenceLogsBuffered(this.writes.pending.size);
        this.reportDrops();
      },
    });
    flushes.track(this.writes);
  }

  /** Never blocks and never throws: the row is written within LOG_FLUSH_MS, or on shutdown. */
  record(entry: InferenceLogEntry): void {
    this.writes.add(toRow(entry));
  }

  /** Rows waiting in memory. */
  get pending(): number {
    return this.writes.pending.size;
  }

  /** Writes everything buffered (one flush at a time); false when a batch failed and waits for its retry. */
  async flush(): Promise<boolean> {
    await this.writes.flush();
    return !this.writes.failing;
  }

  /** One batch; a transient failure part-way through throws what is left to retry. */
  private async writeBatch(batch: InferenceLogRow[]): Promise<number> {
    try {
      await this.repo.insertMany(batch);
      return batch.length;
    } catch (err) {
      if (!isRowError(err)) throw err;
    }
    // One bad row must not hold back the others: find it by writing them one at a time.
    let written = 0;
    for (let i = 0; i < batch.length; i++) {
      try {
        await this.repo.insertMany([batch[i]]);
        written++;
      } catch (rowErr) {
        if (!isRowError(rowErr)) throw new PartialWriteError(written, batch.slice(i), rowErr);
        if (await this.writeAscii(batch[i])) {
          written++;
          continue;
        }
        this.drop('invalid', 1);
        // The message only: the driver's error also carries the parameters (docs/observability.md).
        this.logger.error(
          `inference_logs row for request ${asciiRow(batch[i]).requestId} refused: ${(rowErr as Error).message}`,
        );
      }
    }
    return written;
  }

  /** An audit row is never dropped for its content: retried once with its text reduced to ASCII. */
  private async writeAscii(row: InferenceLogRow): Promise<boolean> {
    try {
      await this.repo.insertMany([asciiRow(row)]);
      return true;
    } catch {
      return false;
    }
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
      `inference_logs rows dropped: ${u.buffer_full} oldest (buffer full at LOG_BUFFER_MAX=${this.writes.pending.max}), ` +
        `${u.invalid} refused by the database, ${u.shutdown} recorded after shutdown`,
    );
    this.unreported = { buffer_full: 0, invalid: 0, shutdown: 0 };
  }
}
