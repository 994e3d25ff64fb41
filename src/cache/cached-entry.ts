import type { FinishReason, StreamEvent, TokenUsage } from '../models/provider.interface';

/** A complete, successful answer: what the cache stores. */
export interface CachedAnswer {
  text: string;
  finishReason: FinishReason;
  usage: TokenUsage;
}

/** An answer ready to replay: the events are built once and shared (frozen) by every hit. */
export interface CacheEntry extends CachedAnswer {
  model: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  events: readonly StreamEvent[];
  /** Approximate bytes held in memory, for the in-process LRU bound. */
  size: number;
}

/** The `response` jsonb column (snake_case: the dashboards read it with SQL). */
export interface ResponseJson {
  text: string;
  finish_reason: FinishReason;
  usage: { prompt_tokens: number; completion_tokens: number; estimated?: boolean };
}

export function makeEntry(model: string, a: CachedAnswer, expiresAt: number): CacheEntry {
  const usage: TokenUsage = Object.freeze(
    a.usage.estimated
      ? { promptTokens: a.usage.promptTokens, completionTokens: a.usage.completionTokens, estimated: true }
      : { promptTokens: a.usage.promptTokens, completionTokens: a.usage.completionTokens },
  );
  const done: StreamEvent = Object.freeze({ type: 'done', finishReason: a.finishReason, usage });
  // The whole text as one delta: the least work per hit, and any SSE client handles it.
  const events = Object.freeze(a.text ? [Object.freeze({ type: 'delta' as const, text: a.text }), done] : [done]);
  return {
    model,
    text: a.text,
    finishReason: a.finishReason,
    usage,
    expiresAt,
    events,
    size: 2 * (a.text.length + model.length) + 256,
  };
}

/** Joins a stream's deltas and its `done` back into one answer. */
export function answerOf(events: readonly StreamEvent[], done: Extract<StreamEvent, { type: 'done' }>): CachedAnswer {
  let text = '';
  for (const e of events) if (e.type === 'delta') text += e.text;
  return { text, finishReason: done.finishReason, usage: done.usage };
}

export function toResponseJson(a: CachedAnswer): ResponseJson {
  const usage: ResponseJson['usage'] = {
    prompt_tokens: a.usage.promptTokens,
    completion_tokens: a.usage.completionTokens,
  };
  if (a.usage.estimated) usage.estimated = true;
  return { text: a.text, finish_reason: a.finishReason, usage };
}

/** Defensive: a row or L1 value that does not have the expected shape is a miss, not a crash. */
export function fromResponseJson(v: unknown): CachedAnswer | undefined {
  const r = v as ResponseJson | null;
  if (!r || typeof r.text !== 'string' || (r.finish_reason !== 'stop' && r.finish_reason !== 'length'))
    return undefined;
  const u = r.usage;
  if (!u || !Number.isFinite(u.prompt_tokens) || !Number.isFinite(u.completion_tokens)) return undefined;
  const usage: TokenUsage = { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens };
  if (u.estimated) usage.estimated = true;
  return { text: r.text, finishReason: r.finish_reason, usage };
}

const END: IteratorResult<StreamEvent> = Object.freeze({ done: true, value: undefined });

/** Replays a stored answer; no awaits on anything but the caller's own iteration. */
export class ReplayStream implements AsyncIterableIterator<StreamEvent> {
  private i = 0;

  constructor(private readonly events: readonly StreamEvent[]) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<StreamEvent>> {
    return Promise.resolve(this.i < this.events.length ? { value: this.events[this.i++], done: false } : END);
  }

  return(): Promise<IteratorResult<StreamEvent>> {
    this.i = this.events.length;
    return Promise.resolve(END);
  }
}
