import type { StreamEvent } from '../provider.interface';
import type { ModelLease } from './model-entry';

export interface StreamAttempt {
  model: string;
  requested: string;
  fallback: boolean;
  lease: ModelLease;
  iterator: AsyncIterator<StreamEvent>;
  /** Already pulled by the router to commit to this model. */
  first: IteratorResult<StreamEvent>;
  /** Reports the attempt's outcome (`undefined` = success; `cancelled` = the consumer stopped). */
  finish(err: unknown, cancelled: boolean): void;
}

/**
 * A provider's stream after the router committed to it: replays the first event, then passes
 * the rest through. The lease is released exactly once — at the end, on error, or on
 * `return()` — which is what lets a reload close the old provider. Written as a plain
 * iterator, not an async generator, because `return()` on a generator that never started
 * skips its `finally` and would leak the lease.
 */
export class RoutedStream implements AsyncIterableIterator<StreamEvent> {
  /** The model that is answering. */
  readonly model: string;
  readonly requested: string;
  readonly fallback: boolean;
  private pending: IteratorResult<StreamEvent> | undefined;
  private finished = false;

  constructor(private readonly attempt: StreamAttempt) {
    this.model = attempt.model;
    this.requested = attempt.requested;
    this.fallback = attempt.fallback;
    this.pending = attempt.first;
    if (attempt.first.done) this.end(undefined);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<StreamEvent>> {
    if (this.pending) {
      const first = this.pending;
      this.pending = undefined;
      return first;
    }
    if (this.finished) return { done: true, value: undefined };
    try {
      const r = await this.attempt.iterator.next();
      if (r.done) this.end(undefined);
      return r;
    } catch (err) {
      this.end(err);
      throw err;
    }
  }

  /** The consumer stopped early (client went away): stop the provider and free the model. */
  async return(): Promise<IteratorResult<StreamEvent>> {
    this.pending = undefined;
    if (!this.finished) {
      try {
        await this.attempt.iterator.return?.();
      } finally {
        this.end(undefined, true);
      }
    }
    return { done: true, value: undefined };
  }

  private end(err: unknown, cancelled = false): void {
    if (this.finished) return;
    this.finished = true;
    this.attempt.lease.release({ failed: err !== undefined || cancelled });
    this.attempt.finish(err, cancelled);
  }
}
