import type { FinishReason, StreamEvent } from '../provider.interface';
import { CompletionText } from './completion-text';
import type { ConstrainedRow } from './constrained/constrained-row';
import type { TokenDecoder } from './detokenizer';
import { EventChannel } from './event-channel';
import { applyLogitBias, GeneratedCounts, type LogitBias } from './logit-processors';
import { tokenLogprob, type TokenLogprob } from './logprobs';
import { mulberry32, randomSeed, type Rng } from './prng';
import {
  applyRepetitionPenalty,
  drawsFromWholeVocabulary,
  pickToken,
  TokenHistory,
  type SamplingConfig,
} from './sampler';
import { drawFromMaskedProbs, drawFromProbs } from './vocabulary-draws';

export interface SequenceInit {
  promptIds: number[];
  maxTokens: number;
  sampling: SamplingConfig;
  stop: readonly string[];
  seed?: number;
  eosIds: ReadonlySet<number>;
  /** Turns completion ids into text (a tool-call format may keep its special marker tokens). */
  tokenizer: TokenDecoder;
  vocabSize: number;
  signal?: AbortSignal;
  /** OpenAI's presence / frequency penalties (0 = off) and logit_bias. */
  presencePenalty?: number;
  frequencyPenalty?: number;
  logitBias?: LogitBias;
  /** Constrained decoding (response_format, forced tool calls): this row's own automaton state. */
  constraint?: ConstrainedRow;
  /** Report each token's log-probability with this many alternatives (undefined: off). */
  logprobs?: number;
  /**
   * Sequences with the same key and prompt (the `n` choices of one request) share one prefill:
   * the scheduler computes the prompt once and copies its KV cache to each row.
   */
  prefillKey?: object;
}

/** What a sequence emits: text deltas (with their tokens' log-probabilities when asked), then `done`. */
export type SequenceEvent =
  { type: 'delta'; text: string; logprobs?: TokenLogprob[] } | Extract<StreamEvent, { type: 'done' }>;

/** One request's decoding state while it waits in the queue and then occupies a batch row. */
export class Sequence {
  readonly promptIds: number[];
  readonly events: EventChannel<SequenceEvent>;
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
  private readonly counts: GeneratedCounts | undefined;
  /** Log-probabilities of tokens whose text has not been emitted yet. */
  private logprobQueue: TokenLogprob[] = [];
  private lastLogprob: TokenLogprob | null = null;
  private stopRequested = false;

  constructor(private readonly init: SequenceInit) {
    this.promptIds = init.promptIds;
    this.sampling = init.sampling;
    this.rng = mulberry32(init.seed ?? randomSeed());
    this.text = new CompletionText(init.tokenizer, init.promptIds, init.stop, init.logprobs === undefined);
    if (init.sampling.repetitionPenalty !== 1) {
      this.history = new TokenHistory(init.vocabSize);
      for (const id of init.promptIds) this.history.add(id);
    }
    if (init.presencePenalty || init.frequencyPenalty) this.counts = new GeneratedCounts();
    this.events = new EventChannel(() => this.cancel(null));
    init.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private readonly onAbort = (): void => {
    this.cancel(this.init.signal?.reason ?? new Error('request aborted'));
  };

  get prefillKey(): object | undefined {
    return this.init.prefillKey;
  }

  /** Greedy rows that change no logit and report none can take the graph's argmax instead of full logits. */
  get needsLogits(): boolean {
    const i = this.init;
    return (
      this.sampling.temperature > 0 ||
      this.sampling.repetitionPenalty !== 1 ||
      this.counts !== undefined ||
      (i.logitBias !== undefined && i.logitBias.size > 0) ||
      i.constraint !== undefined ||
      i.logprobs !== undefined
    );
  }

  /**
   * How this row can draw from the graph's sampling probabilities: 0 for a greedy row that takes
   * the argmax, 1 / temperature for a draw over the whole vocabulary or what the constraint
   * allows (no top-k / top-p, no logit changes, no logprobs), null when it needs the logits.
   */
  get probsInverseTemperature(): number | null {
    if (!this.needsLogits) return 0;
    const s = this.sampling;
    const i = this.init;
    const plain =
      drawsFromWholeVocabulary(s, i.vocabSize) &&
      s.repetitionPenalty === 1 &&
      this.counts === undefined &&
      !i.logitBias?.size &&
      i.logprobs === undefined;
    return plain ? 1 / s.temperature : null;
  }

  get active(): boolean {
    return !this.finished && !this.cancelled;
  }

  /** Picks the next token from this row's logits (the forward pass gave them). */
  choose(logits: Float32Array): number {
    const i = this.init;
    if (this.history) applyRepetitionPenalty(logits, this.history.ids, this.sampling.repetitionPenalty);
    this.counts?.applyPenalties(logits, i.presencePenalty ?? 0, i.frequencyPenalty ?? 0);
    if (i.logitBias?.size) applyLogitBias(logits, i.logitBias);
    // The mask comes last: no bias may bring back a token that would break the document.
    i.constraint?.maskLogits(logits, i.maxTokens - this.generated);
    const id = pickToken(logits, this.sampling, this.rng);
    this.lastLogprob = i.logprobs === undefined ? null : tokenLogprob(logits, id, i.logprobs);
    return id;
  }

  /** A constrained row drawing from probabilities also needs the logits, for when they underflow. */
  get probsNeedLogits(): boolean {
    return this.init.constraint !== undefined;
  }

  /**
   * Picks the next token from probabilities computed at this row's temperature (see
   * probsInverseTemperature); `logits` is asked for only when a constrained row's allowed mass
   * underflowed.
   */
  chooseFromProbs(probs: Float32Array, logits: () => Float32Array): number {
    const c = this.init.constraint;
    if (!c) return drawFromProbs(probs, this.rng);
    const id = drawFromMaskedProbs(probs, c.allowed(this.init.maxTokens - this.generated), this.rng);
    return id >= 0 ? id : this.choose(logits());
  }

  /** Takes a token; emits text; returns true when the sequence is finished. */
  accept(token: number): boolean {
    this.generated++;
    this.completionIds.push(token);
    this.history?.add(token);
    this.counts?.add(token);
    const logprob = this.lastLogprob;
    this.lastLogprob = null;
    // EOS ends the text: OpenAI reports no log-probability for it.
    if (this.init.eosIds.has(token)) return this.finish('stop');
    if (logprob) this.logprobQueue.push(logprob);
    const step = this.text.push(token);
    if (step.text) this.emit(step.text);
    if (step.stopped || this.stopRequested) return this.finish('stop');
    // A complete document that nothing may extend ends here, as if EOS had been sampled.
    if (this.init.constraint?.accept(token)) return this.finish('stop');
    if (this.generated >= this.init.maxTokens) return this.finish('length');
    this.pendingToken = token;
    return false;
  }

  /** Ends this sequence normally at its next token (the answer needs nothing more). */
  stopSoon(): void {
    this.stopRequested = true;
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

  private emit(text: string): void {
    if (this.init.logprobs === undefined) {
      this.events.push({ type: 'delta', text });
      return;
    }
    const logprobs = this.logprobQueue;
    this.logprobQueue = [];
    this.events.push({ type: 'delta', text, logprobs });
  }

  private detach(): void {
    this.init.signal?.removeEventListener('abort', this.onAbort);
  }

  private finish(reason: FinishReason): true {
    this.finished = true;
    this.detach();
    const rest = this.text.finish();
    if (rest.text || this.logprobQueue.length) this.emit(rest.text);
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
