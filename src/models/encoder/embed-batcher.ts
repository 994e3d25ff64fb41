import { ApiError } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-code';
import { callHook, type EngineHooks } from '../onnx/hooks';

export interface BatcherOptions {
  /** Rows per forward pass. */
  maxBatchSize: number;
  /** Padded tokens per pass (rows × longest row): bounds memory and one pass's latency. */
  maxBatchTokens: number;
  /** Rows that may wait; beyond it requests fail fast with model_unavailable. */
  maxQueue: number;
  retryAfterSeconds?: number;
}

interface Job {
  ids: number[];
  resolve(v: Float32Array): void;
  reject(err: unknown): void;
  owner: object;
}

/**
 * Dynamic batching across requests: every input is a row in one queue; while a forward pass
 * runs, new rows wait, and the next pass takes as many as fit the row and padded-token budgets,
 * whoever sent them. The decoder's scheduler works the same way (docs/engine.md); an encoder has
 * no steps, so a row leaves the batch when its pass ends.
 */
export class EmbedBatcher {
  private readonly queue: Job[] = [];
  private running = false;
  private closed = false;
  lastBatchSize = 0;

  constructor(
    private readonly forward: (rows: number[][]) => Promise<Float32Array[]>,
    private readonly opts: BatcherOptions,
    private hooks: EngineHooks = {},
  ) {}

  setHooks(hooks: EngineHooks): void {
    this.hooks = hooks;
  }

  get queued(): number {
    return this.queue.length;
  }

  get busy(): boolean {
    return this.running;
  }

  /** One request's rows; resolves with their vectors in order. */
  submit(rows: number[][], signal?: AbortSignal): Promise<Float32Array[]> {
    if (this.closed) return Promise.reject(new ApiError(ErrorCode.ModelUnavailable, 'the model is shutting down'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.queue.length + rows.length > this.opts.maxQueue + this.opts.maxBatchSize) {
      return Promise.reject(
        new ApiError(
          ErrorCode.ModelUnavailable,
          `the model is overloaded (${this.queue.length} inputs waiting)`,
          null,
          {
            'retry-after': String(this.opts.retryAfterSeconds ?? 1),
          },
        ),
      );
    }
    const owner = {};
    const all = Promise.all(
      rows.map(
        (ids) => new Promise<Float32Array>((resolve, reject) => this.queue.push({ ids, resolve, reject, owner })),
      ),
    );
    if (signal) {
      const onAbort = () => this.drop(owner, signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      void all.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => undefined);
    }
    callHook(this.hooks.onQueueDepth, this.queue.length);
    void this.pump();
    return all;
  }

  /** Rejects everything waiting; a running pass finishes. */
  close(): void {
    this.closed = true;
    const err = new ApiError(ErrorCode.ModelUnavailable, 'the model was unloaded');
    for (const job of this.queue.splice(0)) job.reject(err);
  }

  private drop(owner: object, reason: unknown): void {
    let first = true;
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i].owner !== owner) continue;
      const [job] = this.queue.splice(i, 1);
      if (first) job.reject(reason);
      first = false;
    }
    callHook(this.hooks.onQueueDepth, this.queue.length);
  }

  /**
   * The next batch: the oldest waiting row, plus the rows nearest to it in length among the
   * first few batches' worth of the queue (less padding than plain FIFO, and the oldest always
   * goes, so nothing starves), within the row and padded-token budgets.
   */
  private take(): Job[] {
    const { maxBatchSize, maxBatchTokens } = this.opts;
    const window = this.queue.slice(0, maxBatchSize * 4);
    const oldest = window[0];
    const byLength = [...window].sort((a, b) => a.ids.length - b.ids.length);
    const at = byLength.indexOf(oldest);
    const size = Math.min(maxBatchSize, byLength.length);
    const start = Math.max(0, Math.min(at - (size >> 1), byLength.length - size));
    // Shortest first, so the budget check stops at the row that would stretch the padding.
    const picked = [oldest, ...byLength.slice(start, start + size).filter((j) => j !== oldest)];
    const batch: Job[] = [];
    let longest = 0;
    for (const job of picked) {
      const next = Math.max(longest, job.ids.length);
      // The oldest row always goes, however long: the budget bounds batches, never refuses a row.
      if (batch.length > 0 && next * (batch.length + 1) > maxBatchTokens) continue;
      longest = next;
      batch.push(job);
    }
    const taken = new Set(batch);
    for (let i = this.queue.length - 1; i >= 0; i--) if (taken.has(this.queue[i])) this.queue.splice(i, 1);
    return batch;
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        // Let every request that is ready (e.g. the clients the last pass just answered) queue
        // first; otherwise the first one back would run alone and the rest wait for it.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const batch = this.take();
        callHook(this.hooks.onQueueDepth, this.queue.length);
        callHook(this.hooks.onBatch, batch.length);
        callHook(this.hooks.onInflight, batch.length);
        this.lastBatchSize = batch.length;
        try {
          const vectors = await this.forward(batch.map((j) => j.ids));
          batch.forEach((j, i) => j.resolve(vectors[i]));
        } catch (err) {
          for (const j of batch) j.reject(err);
        }
        callHook(this.hooks.onInflight, 0);
      }
    } finally {
      this.running = false;
    }
  }
}
