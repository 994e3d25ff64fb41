import type { FinishReason, StreamEvent } from '../provider.interface';
import { CompletionText } from './completion-text';
import { EventChannel } from './event-channel';
import { mulberry32, randomSeed, type Rng } from './prng';
import { pickToken, TokenHistory, type SamplingConfig } from './sampler';
import type { ModelTokenizer } from './tokenizer';

export interface SequenceInit {
  promptIds: number[];
  maxTokens: number;
  sampling: SamplingConfig;
  stop: readonly string[];
  seed?: number;
  eosIds: ReadonlySet<number>;
  tokenizer: ModelTokenizer;
  vocabSize: number;
  signal?: AbortSignal;
}

/** One request's decoding state while it waits in the queue and then occupies a batch row. */
export class Sequence {
  readonly promptIds: number[];
  readonly events: EventChannel<StreamEvent>;
  readonly enqueuedAt = performance.now();
  /** The sampled token the next forward pass feeds (null until the prompt is prefilled). */
  pendingToken: number | null = null;
  generated = 0;
  /** Every generated id (EOS included), for callers that need tokens rather than text. */
  readonly completionIds: number[] = [];
  finished = false;
  /** Set when the client went away or the engine shut down: leave the batch at the next step. */
  cancelled = false;
  cancelReason: unknown = null;
  /** The scheduler's hook to free a queue slot at once. */
  onCancel: (() => void) | null = null;
  private readonly sampling: SamplingConfig;
  private readonly rng: Rng;
  private readonly history: TokenHistory | undefined;
  private readonly text: CompletionText;

  constructor(private readonly init: SequenceInit) {
    this.promptIds = init.promptIds;
    this.sampling = init.sampling;
    this.rng = mulberry32(init.seed ?? randomSeed());
    this.text = new CompletionText(init.tokenizer, init.promptIds, init.stop);
    if (init.sampling.repetitionPenalty !== 1) {
      this.history = new TokenHistory(init.vocabSize);
      for (const id of init.promptIds) this.history.add(id);
    }
    this.events = new EventChannel(() => this.cancel(null));
    init.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private readonly onAbort = (): void => {
    this.cancel(this.init.signal?.reason ?? new Error('request aborted'));
  };

  /** Greedy rows without a penalty can take the graph's argmax instead of full logits. */
  get needsLogits(): boolean {
    return this.sampling.temperature > 0 || this.sampling.repetitionPenalty !== 1;
  }

  get active(): boolean {
    return !this.finished && !this.cancelled;
  }

  /** Picks the next token from this row's logits (the forward pass gave them). */
  choose(logits: Float32Array): number {
    return pickToken(logits, this.sampling, this.rng, this.history);
  }

  /** Takes a token; emits text; returns true when the sequence is finished. */
  accept(token: number): boolean {
    this.generated++;
    this.completionIds.push(token);
    this.history?.add(token);
    if (this.init.eosIds.has(token)) return this.finish('stop');
    const step = this.text.push(token);
    if (step.text) this.events.push({ type: 'delta', text: step.text });
    if (step.stopped) return this.finish('stop');
    if (this.generated >= this.init.maxTokens) return this.finish('length');
    this.pendingToken = token;
    return false;
  }

  /** Stops this sequence at the next step; `reason` (if any) is what a waiting caller sees. */
  cancel(reason: unknown): void {
    if (this.cancelled || this.finished) return;
    this.cancelled = true;
    this.cancelReason = reason;
    this.onCancel?.();
  }

  /** Ends the stream with an error (engine failure, shutdown, abort). */
  fail(error: unknown): void {
    this.finished = true;
    this.detach();
    this.events.fail(error);
  }

  private detach(): void {
    this.init.signal?.removeEventListener('abort', this.onAbort);
  }

  private finish(reason: FinishReason): true {
    this.finished = true;
    this.detach();
    const rest = this.text.finish();
    if (rest.text) this.events.push({ type: 'delta', text: rest.text });
    const finishReason = rest.stopped ? 'stop' : reason;
    this.events.push({
      type: 'done',
      finishReason,
      usage: { promptTokens: this.promptIds.length, completionTokens: this.generated },
    });
    this.events.close();
    return true;
  }
}
