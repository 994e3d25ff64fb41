import type { FinishReason, StreamEvent, TokenUsage, WireObject } from '../models/provider.interface';
import { eventsOfResult } from '../models/wire/result-events';
import { WireAccumulator } from '../models/wire/wire-accumulator';

/** A complete, successful answer: what the cache stores. */
export interface CachedAnswer {
  text: string;
  finishReason: FinishReason;
  usage: TokenUsage;
  /**
   * A remote upstream's whole completion object (tool calls, n choices, logprobs ...), its
   * `usage` the upstream's when that was charged: replayed exactly, split into chunks for a
   * streaming client (docs/cache.md).
   */
  wire?: WireObject;
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
  usage: {
    prompt_tokens: number;
    completion_tokens: number;
    estimated?: boolean;
    cached_prompt_tokens?: number;
    reasoning_tokens?: number;
  };
  /** CachedAnswer.wire. */
  wire?: WireObject;
}

export function makeEntry(model: string, a: CachedAnswer, expiresAt: number): CacheEntry {
  const usage: TokenUsage = Object.freeze({ ...a.usage });
  // The whole text (or the whole upstream object) as one delta: the least work per hit.
  const events = Object.freeze(
    eventsOfResult({ text: a.text, finishReason: a.finishReason, usage, wire: a.wire }).map((e) => Object.freeze(e)),
  );
  const wireSize = a.wire ? JSON.stringify(a.wire).length : 0;
  return {
    model,
    text: a.text,
    finishReason: a.finishReason,
    usage,
    ...(a.wire ? { wire: a.wire } : {}),
    expiresAt,
    events,
    size: 2 * (a.text.length + model.length + wireSize) + 256,
  };
}

/** Joins a stream's deltas and its `done` back into one answer. */
export function answerOf(events: readonly StreamEvent[], done: Extract<StreamEvent, { type: 'done' }>): CachedAnswer {
  let text = '';
  let whole: WireObject | undefined;
  let acc: WireAccumulator | undefined;
  for (const e of events) {
    if (e.type !== 'delta') continue;
    text += e.text;
    if (e.whole) whole = e.whole;
    else if (e.chunk) (acc ??= new WireAccumulator()).add(e.chunk);
  }
  const answer: CachedAnswer = { text, finishReason: done.finishReason, usage: done.usage };
  const joined = whole ?? acc?.whole();
  if (joined) {
    // The usage replayed is the upstream's only when it was the one charged.
    const { usage: _usage, ...rest } = joined;
    answer.wire = done.wireUsage ? { ...rest, usage: done.wireUsage } : rest;
  }
  return answer;
}

export function toResponseJson(a: CachedAnswer): ResponseJson {
  const usage: ResponseJson['usage'] = {
    prompt_tokens: a.usage.promptTokens,
    completion_tokens: a.usage.completionTokens,
  };
  if (a.usage.estimated) usage.estimated = true;
  if (a.usage.cachedPromptTokens !== undefined) usage.cached_prompt_tokens = a.usage.cachedPromptTokens;
  if (a.usage.reasoningTokens !== undefined) usage.reasoning_tokens = a.usage.reasoningTokens;
  return { text: a.text, finish_reason: a.finishReason, usage, ...(a.wire ? { wire: a.wire } : {}) };
}

/** Defensive: a row or L1 value that does not have the expected shape is a miss, not a crash. */
export function fromResponseJson(v: unknown): CachedAnswer | undefined {
  const r = v as ResponseJson | null;
  if (!r || typeof r.text !== 'string' || typeof r.finish_reason !== 'string' || !r.finish_reason) return undefined;
  const u = r.usage;
  if (!u || !Number.isFinite(u.prompt_tokens) || !Number.isFinite(u.completion_tokens)) return undefined;
  const w = r.wire;
  if (w !== undefined && (!w || typeof w !== 'object' || !Array.isArray(w.choices))) return undefined;
  const usage: TokenUsage = { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens };
  if (u.estimated) usage.estimated = true;
  if (Number.isFinite(u.cached_prompt_tokens)) usage.cachedPromptTokens = u.cached_prompt_tokens;
  if (Number.isFinite(u.reasoning_tokens)) usage.reasoningTokens = u.reasoning_tokens;
  return { text: r.text, finishReason: r.finish_reason, usage, ...(w ? { wire: w } : {}) };
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
