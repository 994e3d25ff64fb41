import { ApiError } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-code';
import type {
  ChatMessage,
  GenerateRequest,
  GenerateResult,
  LlmProvider,
  ProviderHealth,
  StreamEvent,
} from '../provider.interface';
import { WireAccumulator } from '../wire/wire-accumulator';
import { loadModel, type OnnxProviderOptions } from './load-model';
import { type BatchScheduler } from './batch-scheduler';
import { ConstrainedRow } from './constrained/constrained-row';
import { buildTokenIndex, type TokenIndex } from './constrained/token-index';
import { buildTokenIndexOffThread } from './constrained/token-index-off-thread';
import type { EngineHooks, EngineStats } from './hooks';
import type { ModelConfig } from './model-config';
import { type ModelRunner } from './model-runner';
import { chatChoiceWriter, completionChoiceWriter, type TokenView } from './openai/choice-writer';
import { toolCallDecoder, tokenView } from './openai/token-views';
import { localAnswer } from './openai/local-answer';
import {
  checkBudget,
  needsTokenIndex,
  planLocalRequest,
  type LocalRequest,
  type ModelView,
} from './openai/local-request';
import { encodeChat } from './openai/model-view';
import { randomSeed } from './prng';
import { Sequence, type SequenceInit } from './sequence';
import type { EffectiveDevice } from './session';
import { type ModelTokenizer } from './tokenizer';
import { seededRandom } from './tools/tool-call-stream';
import { detectToolParser, type ToolParserName } from './tools/tool-call-formats';

/** A local decoder-only model served from an ONNX export with continuous batching. */
export class OnnxProvider implements LlmProvider {
  readonly kind = 'onnx' as const;
  readonly contextLength: number;
  readonly version: string;
  private closed = false;
  private readonly eosIds: ReadonlySet<number>;
  private readonly view: ModelView;
  /** The plan of a request body, made when its prompt was counted and reused when it runs. */
  private readonly plans = new WeakMap<object, LocalRequest>();
  private tokenView?: TokenView;
  private index?: TokenIndex;
  private indexBuild?: Promise<TokenIndex>;

  private constructor(
    readonly id: string,
    private readonly runner: ModelRunner,
    private readonly tokenizer: ModelTokenizer,
    private readonly config: ModelConfig,
    private readonly scheduler: BatchScheduler,
    version: string,
    toolParser: ToolParserName | undefined,
  ) {
    this.contextLength = config.contextLength;
    this.version = version;
    this.eosIds = new Set(config.eosIds);
    this.view = {
      id,
      tokenizer,
      vocabSize: config.vocabSize,
      capacity: scheduler.capacity,
      startId: config.bosId ?? config.eosIds[0],
      toolParser: toolParser ?? detectToolParser(tokenizer.chatTemplate.source),
      // Built on first use, from the vocabulary the tokenizer already holds: off the event loop
      // for requests that await indexReady() (all OpenAI bodies that need it), here otherwise.
      tokenIndex: () => (this.index ??= buildTokenIndex(tokenizer.vocabulary(), config.vocabSize)),
    };
  }

  /** Loads and validates a model folder; throws ModelLoadError naming the file at fault. */
  static async load(opts: OnnxProviderOptions): Promise<OnnxProvider> {
    const m = await loadModel(opts);
    return new OnnxProvider(opts.id, m.runner, m.tokenizer, m.config, m.scheduler, m.version, opts.toolParser);
  }

  /** The execution provider actually in use (after any fallback), for metric labels. */
  get device(): EffectiveDevice {
    return this.runner.device;
  }

  /** Metrics wiring may come after loading. */
  setHooks(hooks: EngineHooks): void {
    this.scheduler.hooks = hooks;
  }

  stats(): EngineStats {
    return this.scheduler.stats();
  }

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    // Several choices, logprobs or tool calls: the whole OpenAI object, joined from the chunks.
    const acc = this.planOf(req)?.wire ? new WireAccumulator() : undefined;
    let text = '';
    for await (const e of this.stream(req)) {
      if (e.type === 'delta') {
        text += e.text;
        if (e.chunk) acc?.add(e.chunk);
      } else return { text, finishReason: e.finishReason, usage: e.usage, ...(acc ? { wire: acc.whole() } : {}) };
    }
    throw new ApiError(ErrorCode.InternalError, 'generation ended without a result');
  }

  /** `generate` plus the generated token ids (EOS included): for tests, tools and logprob-free debugging. */
  async generateTokens(req: GenerateRequest): Promise<GenerateResult & { tokenIds: number[] }> {
    const plan = this.planOf(req);
    const seq = this.start(req, plan);
    let text = '';
    for await (const event of seq.events) {
      if (event.type === 'delta') text += event.text;
      else return { text, finishReason: event.finishReason, usage: event.usage, tokenIds: seq.completionIds };
    }
    throw new ApiError(ErrorCode.InternalError, 'generation ended without a result');
  }

  async *stream(req: GenerateRequest): AsyncIterable<StreamEvent> {
    if (req.body && needsTokenIndex(req.body)) await this.indexReady();
    const plan = this.planOf(req);
    // yield* hands the consumer's early return() to the channel, which cancels the sequence.
    if (!plan?.wire) yield* this.start(req, plan).events;
    else yield* this.startChoices(req, plan);
  }

  /**
   * Prompt tokens the request costs: with an OpenAI body, what the engine will really feed
   * (tools rendered by the template, a forced call's marker, every prompt of a list), so the
   * quota reservation is exact; a bad body is refused here, before anything is reserved.
   */
  async countTokens(input: string | ChatMessage[], body?: Record<string, unknown>): Promise<number> {
    if (body) {
      if (needsTokenIndex(body)) await this.indexReady();
      const cap = body.max_completion_tokens ?? body.max_tokens;
      const plan = this.planOf(
        { body, ...(typeof input === 'string' ? { prompt: input } : { messages: input }) },
        typeof cap === 'number' ? cap : undefined,
      );
      return plan!.prompts.reduce((n, p) => n + p.length, 0);
    }
    if (typeof input !== 'string') return encodeChat(this.view, input).length;
    // start() feeds an empty prompt one start token and the usage counts it: so does the quota
    // reservation, which must be exact for local models (docs/limits.md).
    return Math.max(1, this.tokenizer.countTokens(input));
  }

  refusal(req: GenerateRequest): string | undefined {
    try {
      this.planOf(req, req.params.maxTokens);
      return undefined;
    } catch (err) {
      if (err instanceof ApiError) return err.param ?? 'body';
      throw err;
    }
  }

  async health(): Promise<ProviderHealth> {
    const { inflight, queued } = this.scheduler.stats();
    return { up: !this.closed, detail: this.closed ? 'closed' : `onnx on ${this.device}`, inflight, queued };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.scheduler.close();
    await this.runner.release();
  }

  /** The token index, built once on a worker thread; resolves when it is there. */
  private indexReady(): Promise<TokenIndex> {
    if (this.index) return Promise.resolve(this.index);
    return (this.indexBuild ??= buildTokenIndexOffThread(this.tokenizer.vocabulary(), this.config.vocabSize).then(
      (index) => (this.index ??= index),
    ));
  }

  /** The plan of an OpenAI body (cached per body object); undefined for `/v1/generate`. */
  private planOf(
    req: Pick<GenerateRequest, 'prompt' | 'messages' | 'body'>,
    maxTokens?: number,
  ): LocalRequest | undefined {
    if (!req.body) return undefined;
    let plan = this.plans.get(req.body);
    if (!plan) {
      plan = planLocalRequest(req, this.view, maxTokens);
      this.plans.set(req.body, plan);
    } else if (plan.constraint && maxTokens !== undefined) checkBudget(plan.constraint, maxTokens, req.body);
    return plan;
  }

  private start(req: GenerateRequest, plan?: LocalRequest): Sequence {
    if ((req.prompt === undefined) === (req.messages === undefined)) {
      throw ApiError.invalid('exactly one of prompt and messages is required', req.messages ? 'messages' : 'prompt');
    }
    if (req.signal?.aborted) throw req.signal.reason ?? new Error('request aborted');
    // `/v1/generate` has no body to plan once and keep: its plain plan is made here.
    const planned = plan ?? planLocalRequest(req, this.view);
    const seq = new Sequence(this.sequenceInit(req, planned, planned.prompts[0], req.params.seed));
    this.submit([seq]);
    return seq;
  }

  /** A sequence's settings: the request's sampling, and the plan's logprobs, penalties and constraint. */
  private sequenceInit(
    req: GenerateRequest,
    plan: LocalRequest,
    promptIds: number[],
    seed: number | undefined,
  ): SequenceInit {
    const room = this.contextLength - promptIds.length;
    if (room < 1) {
      throw ApiError.invalid(
        `the prompt is ${promptIds.length} tokens; model "${this.id}" has a context length of ` +
          `${this.contextLength} tokens, leaving no room for a completion`,
        req.messages ? 'messages' : 'prompt',
      );
    }
    const { params } = req;
    const maxTokens = Math.max(1, Math.min(params.maxTokens, room));
    if (plan.constraint) checkBudget(plan.constraint, maxTokens, req.body);
    return {
      promptIds,
      maxTokens,
      sampling: {
        temperature: params.temperature,
        topK: params.topK,
        topP: params.topP,
        repetitionPenalty: params.repetitionPenalty,
      },
      stop: params.stop,
      seed,
      eosIds: this.eosIds,
      tokenizer: plan.tools ? toolCallDecoder(this.tokenizer, plan.tools.parser) : this.tokenizer,
      vocabSize: this.config.vocabSize,
      signal: req.signal,
      presencePenalty: plan.presencePenalty,
      frequencyPenalty: plan.frequencyPenalty,
      logitBias: plan.logitBias,
      constraint: plan.constraint ? new ConstrainedRow(plan.constraint, [...this.eosIds]) : undefined,
      logprobs: plan.logprobs,
    };
  }

  /** Every choice of every prompt as one stream of OpenAI chunks (docs/api.md). */
  private startChoices(req: GenerateRequest, plan: LocalRequest): AsyncGenerator<StreamEvent> {
    if (req.signal?.aborted) throw req.signal.reason ?? new Error('request aborted');
    // One base seed: choice i draws from seed + i, so each choice is reproducible on its own.
    const base = req.params.seed ?? randomSeed();
    const tokens = (this.tokenView ??= tokenView(this.tokenizer, () => this.view.tokenIndex()));
    // Every choice's settings first: one that cannot run refuses the request before any starts.
    const inits = plan.prompts
      .flatMap((promptIds) => {
        const prefillKey = {};
        return Array.from({ length: plan.n }, () => ({ promptIds, prefillKey }));
      })
      .map(({ promptIds, prefillKey }, index) => ({
        ...this.sequenceInit(req, plan, promptIds, base + index),
        prefillKey,
      }));
    const choices = inits.map((init, index) => {
      const seq = new Sequence(init);
      const writer =
        plan.kind === 'chat'
          ? chatChoiceWriter(index, tokens, plan.tools, seededRandom(base + index))
          : completionChoiceWriter(
              index,
              tokens,
              plan.logprobs !== undefined,
              [...this.tokenizer.decode(init.promptIds)].length,
            );
      return { seq, writer };
    });
    this.submit(choices.map((c) => c.seq));
    const promptTokens = plan.prompts.reduce((n, p) => n + p.length, 0);
    const object = plan.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    return localAnswer(choices, { object, created: Math.floor(Date.now() / 1000), model: this.id }, promptTokens);
  }

  /** All or none: a request whose choices do not all fit is refused whole. */
  private submit(seqs: Sequence[]): void {
    const done: Sequence[] = [];
    try {
      for (const seq of seqs) {
        this.scheduler.submit(seq);
        done.push(seq);
      }
    } catch (err) {
      for (const seq of done) seq.cancel(err);
      for (const seq of seqs.slice(done.length)) seq.fail(err); // detaches its abort listener
      throw err;
    }
  }
}

/** Loads a model folder and returns a provider ready to serve it. */
export function createOnnxProvider(opts: OnnxProviderOptions): Promise<OnnxProvider> {
  return OnnxProvider.load(opts);
}
export type { OnnxProviderOptions } from './load-model';
