import type { FinishReason, StreamEvent, TokenUsage } from '../models/provider.interface';

export type StreamEnd =
  | { kind: 'done'; usage: TokenUsage; finishReason: FinishReason; text: string; firstTokenMs?: number }
  | { kind: 'error'; error: unknown; text: string; firstTokenMs?: number }
  | { kind: 'cancelled'; text: string; firstTokenMs?: number };

/**
 * Passes a run's events through and reports exactly once how it ended — completed, failed or
 * abandoned by its consumer — with the text produced so far, so that what was generated is
 * accounted even when nobody reads the end. A plain iterator rather than an async generator:
 * `return()` on a generator that never started would skip its `finally`.
 */
export class AccountedStream implements AsyncIterableIterator<StreamEvent> {
  private text = '';
  private ended = false;
  private firstTokenMs?: number;
  private readonly started = performance.now();

  constructor(
    private readonly inner: AsyncIterator<StreamEvent>,
    private readonly onEnd: (end: StreamEnd) => void | Promise<void>,
    /** An event already pulled from `inner` (to commit to an HTTP status), replayed first. */
    private pending?: IteratorResult<StreamEvent>,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<StreamEvent>> {
    if (this.ended) return { done: true, value: undefined };
    let r: IteratorResult<StreamEvent>;
    try {
      r = this.pending ?? (await this.inner.next());
      this.pending = undefined;
    } catch (error) {
      await this.end({ kind: 'error', error, text: this.text, firstTokenMs: this.firstTokenMs });
      throw error;
    }
    if (r.done) {
      await this.end({
        kind: 'error',
        error: new Error('the model ended without a result'),
        text: this.text,
        firstTokenMs: this.firstTokenMs,
      });
      return r;
    }
    const e = r.value;
    if (e.type === 'delta') {
      if (this.firstTokenMs === undefined && e.text) this.firstTokenMs = performance.now() - this.started;
      this.text += e.text;
    } else {
      this.firstTokenMs ??= performance.now() - this.started;
      await this.end({
        kind: 'done',
        usage: e.usage,
        finishReason: e.finishReason,
        text: this.text,
        firstTokenMs: this.firstTokenMs,
      });
    }
    return r;
  }

  async return(): Promise<IteratorResult<StreamEvent>> {
    if (!this.ended) {
      try {
        await this.inner.return?.();
      } finally {
        await this.end({ kind: 'cancelled', text: this.text, firstTokenMs: this.firstTokenMs });
      }
    } else {
      // Completed: still let the inner stream release what it holds.
      await this.inner.return?.();
    }
    return { done: true, value: undefined };
  }

  private async end(end: StreamEnd): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.onEnd(end);
  }
}
