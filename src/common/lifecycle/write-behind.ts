import { Logger } from '@nestjs/common';

/** What a WriteBehind keeps pending: BoundedBuffer (in order) or MergingBuffer (one item per key). */
export interface PendingBuffer<T> {
  readonly max: number;
  readonly size: number;
  /** Returns how many of the oldest were dropped to stay within `max`. */
  push(item: T): number;
  take(n: number): T[];
  putBack(batch: T[]): number;
}

export type WriteBehindDrop = 'buffer_full' | 'shutdown';

/** Thrown by a batch writer that wrote the first part of a batch: only `unwritten` is retried. */
export class PartialWriteError<T> extends Error {
  constructor(
    readonly written: number,
    readonly unwritten: T[],
    readonly reason: unknown,
  ) {
    super(reason instanceof Error ? reason.message : String(reason));
  }
}

export interface WriteBehindOptions<T> {
  /** The unit counted in logs and in the shutdown line, e.g. "inference_logs rows". */
  what: string;
  /** Writes one batch; resolves to how many items it wrote (all of them when void). */
  write: (batch: T[]) => Promise<number | void>;
  /** Pending items are written at least this often. */
  intervalMs: number;
  /** Also written as soon as this many are pending (default: only on the interval). */
  flushAt?: number;
  /** Items per write (default: everything pending). */
  batchSize?: number;
  /** First retry after a failed write (default min(intervalMs, 1000)); doubles up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** At shutdown, keep retrying a failing write for this long (default: one attempt). */
  shutdownBudgetMs?: number;
  /** Items dropped: the oldest past the buffer's bound, or what shutdown could not write. */
  onDrop?: (reason: WriteBehindDrop, n: number) => void;
  onWritten?: (n: number) => void;
  onFailed?: (err: unknown) => void;
  /** Runs on every interval, before its flush (gauges, housekeeping). */
  onTick?: () => void;
  /** Logger context (default: `what`). */
  logContext?: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/**
 * Things written to the database off the request path: add() only buffers; a flush writes the
 * buffer in batches on an interval, when `flushAt` items wait, on demand, and once at shutdown
 * (close(), called by FlushRegistry after the HTTP server has drained). A failed write keeps its
 * batch and is retried with exponential backoff; the buffer is bounded and counts what it drops.
 * Flushes never overlap, and exclusive() runs other work with no flush in progress.
 * See docs/observability.md for the inference_logs writer, the most demanding user.
 */
export class WriteBehind<T, B extends PendingBuffer<T> = PendingBuffer<T>> {
  private readonly logger: Logger;
  private readonly batchSize: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private timer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private lock: Promise<unknown> = Promise.resolve();
  /** Exclusive runs started or queued and not yet finished. */
  private holders = 0;
  private running = 0;
  private backoffMs = 0;
  private failed = false;
  private closing?: Promise<number>;
  private closed = false;
  private writtenTotal = 0;
  /** Items dropped since start, by reason. */
  readonly dropped: Record<WriteBehindDrop, number> = { buffer_full: 0, shutdown: 0 };

  constructor(
    /** Read it (sizes, pending values); add through add(). */
    readonly pending: B,
    private readonly o: WriteBehindOptions<T>,
  ) {
    this.logger = new Logger(o.logContext ?? o.what);
    this.batchSize = Math.max(1, Math.min(o.batchSize ?? Infinity, pending.max));
    this.initialBackoffMs = o.initialBackoffMs ?? Math.min(o.intervalMs, 1_000);
    this.maxBackoffMs = Math.max(o.maxBackoffMs ?? 5_000, this.initialBackoffMs);
  }

  /** What it writes, in the shutdown line's words (e.g. "inference_logs rows"). */
  get what(): string {
    return this.o.what;
  }

  /** Starts the interval (FlushRegistry.track does, at application start). */
  start(): void {
    if (this.timer || this.closing) return;
    this.timer = setInterval(() => this.tick(), this.o.intervalMs);
    this.timer.unref();
  }

  /** Stops the timers without writing (at module destroy): the one final flush is close(). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.cancelRetry();
  }

  /** Never waits, never throws. */
  add(item: T): void {
    if (this.closed) return this.drop('shutdown', 1);
    const dropped = this.pending.push(item);
    if (dropped) this.drop('buffer_full', dropped);
    if (this.o.flushAt !== undefined && this.pending.size >= this.o.flushAt && !this.running && !this.retryTimer)
      void this.flush();
  }

  /** True while the last flush failed and its items wait for a retry. */
  get failing(): boolean {
    return this.failed;
  }

  /** Runs `fn` with no flush in progress (and no flush starts until it is done). */
  exclusive<R>(fn: () => Promise<R>): Promise<R> {
    // When nothing holds the lock, `fn` starts now: a flush takes its batch before the caller
    // buffers more, as a synchronous caller expects (the batch in flight is then the oldest).
    const run = this.holders === 0 ? fn() : this.lock.then(fn, fn);
    this.holders++;
    this.lock = run.catch(() => undefined).finally(() => this.holders--);
    return run;
  }

  /** Writes everything pending (after any flush in progress); resolves to the items written. */
  flush(): Promise<number> {
    this.running++;
    return this.exclusive(() => this.writeAll()).finally(() => this.running--);
  }

  /**
   * The shutdown flush, once however often it is called: writes what is pending (retrying for
   * shutdownBudgetMs if set); what is still pending then is dropped as lost and logged.
   * Resolves to the items written meanwhile, for the shutdown line.
   */
  close(): Promise<number> {
    return (this.closing ??= this.drain());
  }

  private async drain(): Promise<number> {
    clearInterval(this.timer);
    this.timer = undefined;
    const before = this.writtenTotal;
    const budget = this.o.shutdownBudgetMs;
    if (budget === undefined) {
      this.cancelRetry();
      await this.flush();
    } else await this.retryUntil(Date.now() + budget);
    this.cancelRetry();
    this.closed = true;
    const lost = this.pending.take(Infinity).length;
    if (lost) {
      this.drop('shutdown', lost);
      this.logger.error(
        `shutdown: ${lost} ${this.o.what} could not be written${budget === undefined ? '' : ` in ${budget} ms`} and are lost`,
      );
    }
    return this.writtenTotal - before;
  }

  private async retryUntil(deadline: number): Promise<void> {
    let wait = this.initialBackoffMs;
    for (;;) {
      this.cancelRetry();
      const timeout = sleep(Math.max(0, deadline - Date.now())).then(() => 'timeout' as const);
      const done = await Promise.race([this.flush().then(() => !this.failed), timeout]);
      if (done === true && !this.pending.size) return;
      if (done === true) continue; // items added while that flush ran
      if (done === 'timeout' || Date.now() + wait > deadline) return;
      await sleep(wait);
      wait = Math.min(wait * 2, this.maxBackoffMs);
    }
  }

  private tick(): void {
    this.o.onTick?.();
    if (this.pending.size && !this.retryTimer) void this.flush();
  }

  private async writeAll(): Promise<number> {
    let written = 0;
    this.failed = false;
    while (this.pending.size) {
      const batch = this.pending.take(this.batchSize);
      try {
        const n = (await this.o.write(batch)) ?? batch.length;
        this.written(n);
        written += n;
      } catch (err) {
        const partial = err instanceof PartialWriteError ? (err as PartialWriteError<T>) : undefined;
        if (partial?.written) this.written(partial.written);
        this.fail(partial ? partial.unwritten : batch, partial ? partial.reason : err);
        return written + (partial?.written ?? 0);
      }
    }
    return written;
  }

  private written(n: number): void {
    if (n <= 0) return;
    this.writtenTotal += n;
    this.o.onWritten?.(n);
    if (this.backoffMs) {
      this.backoffMs = 0;
      this.logger.log(`${this.o.what} writes recovered`);
    }
  }

  private fail(batch: T[], err: unknown): void {
    this.failed = true;
    const dropped = this.pending.putBack(batch);
    if (dropped) this.drop('buffer_full', dropped);
    this.o.onFailed?.(err);
    const message = err instanceof Error ? err.message : String(err);
    if (!this.backoffMs)
      this.logger.warn(`${this.o.what} write failed (${message}); ${this.pending.size} held, retrying with backoff`);
    this.backoffMs = this.backoffMs ? Math.min(this.backoffMs * 2, this.maxBackoffMs) : this.initialBackoffMs;
    if (this.closing) return; // shutdown retries on its own schedule
    this.cancelRetry();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.flush();
    }, this.backoffMs);
    this.retryTimer.unref();
  }

  private cancelRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private drop(reason: WriteBehindDrop, n: number): void {
    this.dropped[reason] += n;
    this.o.onDrop?.(reason, n);
  }
}
