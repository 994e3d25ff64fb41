import { ApiError } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-code';
import type {
  ChatMessage, GenerateRequest, GenerateResult, LlmProvider, ProviderHealth, StreamEvent,
} from '../provider.interface';
import { BatchScheduler } from './batch-scheduler';
import { ModelLoadError } from './errors';
import type { EngineHooks, EngineStats } from './hooks';
import { parseModelConfig, withGenerationEos, type ModelConfig } from './model-config';
import { readModelFolder } from './model-folder';
import { ModelRunner } from './model-runner';
import { Sequence } from './sequence';
import type { Device, EffectiveDevice, EngineLogger } from './session';
import { ModelTokenizer } from './tokenizer';

export interface OnnxProviderOptions {
  /** Model id, used in messages. */
  id: string;
  /** The model folder (config.json, tokenizer files, onnx/). */
  path: string;
  /** Requested execution provider; unavailable ones fall back to cpu. Default cpu. */
  device?: Device;
  /** Which graph file: fp32 (model.onnx), q8/quantized, fp16, int8, uint8, q4, q4f16. Default fp32. */
  dtype?: string;
  /** Older name of `dtype`. */
  variant?: string;
  /** An explicit graph file (relative to the folder or its onnx/ folder); wins over dtype. */
  file?: string;
  /** Sequences decoded together. Default 8. */
  maxBatchSize?: number;
  /** Requests that may wait for a slot before model_unavailable. Default 32. */
  maxQueue?: number;
  /** onnxruntime intra-op threads. Default: onnxruntime's choice (all cores). */
  threads?: number;
  /**
   * Let idle onnxruntime threads spin-wait between ops. Default false (onnxruntime's own default
   * is true): on a small shared box spinning threads take the CPU the event loop, the database
   * and other models need; measured on 2 busy cores, spinning off was mostly faster (up to 2×)
   * and always cheaper in CPU per token. On a dedicated idle machine, true may win latency.
   */
  spinWait?: boolean;
  logger?: EngineLogger;
  hooks?: EngineHooks;
  /** Load-time graph edit (last-position logits, argmax output). Default true. */
  optimizeGraph?: boolean;
  /** Retry-After seconds on model_unavailable. Default 1. */
  retryAfterSeconds?: number;
}

/** A local decoder-only model served from an ONNX export with continuous batching. */
export class OnnxProvider implements LlmProvider {
  readonly kind = 'onnx' as const;
  readonly contextLength: number;
  readonly version: string;
  private closed = false;
  private readonly eosIds: ReadonlySet<number>;

  private constructor(
    readonly id: string,
    private readonly runner: ModelRunner,
    private readonly tokenizer: ModelTokenizer,
    private readonly config: ModelConfig,
    private readonly scheduler: BatchScheduler,
    version: string,
  ) {
    this.contextLength = config.contextLength;
    this.version = version;
    this.eosIds = new Set(config.eosIds);
  }

  /** Loads and validates a model folder; throws ModelLoadError naming the file at fault. */
  static async load(opts: OnnxProviderOptions): Promise<OnnxProvider> {
    const folder = readModelFolder(opts.path, { dtype: opts.dtype ?? opts.variant ?? 'fp32', file: opts.file });
    const config = folder.genai
      ? withGenerationEos(folder.genai.config, folder.generationConfig)
      : parseModelConfig(folder.config, folder.generationConfig, folder.configFile);
    let tokenizer: ModelTokenizer;
    try {
      tokenizer = new ModelTokenizer(folder.tokenizerJson, folder.tokenizerConfig, folder.chatTemplate);
    } catch (err) {
      throw new ModelLoadError(`${folder.dir}/tokenizer.json`, `tokenizer or chat template rejected: ${(err as Error).message}`);
    }
    if (config.eosIds.length === 0) {
      const eos = tokenizer.specialTokens.eos_token;
      const id = eos === undefined ? undefined : tokenizer.tokenId(eos);
      if (id !== undefined) config.eosIds.push(id);
    }
    const runner = await ModelRunner.load(folder, config, {
      device: opts.device ?? 'cpu',
      threads: opts.threads,
      spinWait: opts.spinWait ?? false,
      logger: opts.logger,
      optimizeGraph: opts.optimizeGraph,
    });
    const scheduler = new BatchScheduler(runner, {
      modelId: opts.id,
      maxBatchSize: Math.max(1, opts.maxBatchSize ?? 8),
      maxQueue: Math.max(0, opts.maxQueue ?? 32),
      retryAfterSeconds: opts.retryAfterSeconds ?? 1,
    });
    if (opts.hooks) scheduler.hooks = opts.hooks;
    const notes = [
      runner.graphChanges.length ? `graph edits: ${runner.graphChanges.join(', ')}` : '',
      runner.io.positionIdsType ? '' : 'no position_ids input: sequences decode unbatched',
      runner.rowsInteract ? 'dynamic per-tensor quantization: sequences decode unbatched' : '',
      runner.noPadding ? 'GroupQueryAttention (no left padding): sequences decode unbatched' : '',
    ].filter(Boolean);
    opts.logger?.log?.(
      `model "${opts.id}" loaded: ${config.modelType}, ${folder.onnxFile}, device ${runner.device}` +
        (notes.length ? `; ${notes.join('; ')}` : ''),
    );
    return new OnnxProvider(opts.id, runner, tokenizer, config, scheduler, folder.version);
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
    const { tokenIds: _ids, ...result } = await this.generateTokens(req);
    return result;
  }

  /** `generate` plus the generated token ids (EOS included): for tests, tools and logprob-free debugging. */
  async generateTokens(req: GenerateRequest): Promise<GenerateResult & { tokenIds: number[] }> {
    const seq = this.start(req);
    let text = '';
    for await (const event of seq.events) {
      if (event.type === 'delta') text += event.text;
      else return { text, finishReason: event.finishReason, usage: event.usage, tokenIds: seq.completionIds };
    }
    throw new ApiError(ErrorCode.InternalError, 'generation ended without a result');
  }

  async *stream(req: GenerateRequest): AsyncIterable<StreamEvent> {
    // yield* hands the consumer's early return() to the channel, which cancels the sequence.
    yield* this.start(req).events;
  }

  async countTokens(input: string | ChatMessage[]): Promise<number> {
    if (typeof input !== 'string') return this.encodeChat(input).length;
    // start() feeds an empty prompt one start token and the usage counts it: so does the quota
    // reservation, which must be exact for local models (docs/limits.md).
    return Math.max(1, this.tokenizer.countTokens(input));
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

  /** Templates may refuse a conversation (e.g. `raise_exception` on roles they do not know). */
  private encodeChat(messages: ChatMessage[]): number[] {
    try {
      return this.tokenizer.encodeChat(messages);
    } catch (err) {
      throw ApiError.invalid(`the model's chat template rejected the messages: ${(err as Error).message}`, 'messages');
    }
  }

  private start(req: GenerateRequest): Sequence {
    if ((req.prompt === undefined) === (req.messages === undefined)) {
      throw ApiError.invalid('exactly one of prompt and messages is required', req.messages ? 'messages' : 'prompt');
    }
    if (req.signal?.aborted) throw req.signal.reason ?? new Error('request aborted');
    const param = req.messages ? 'messages' : 'prompt';
    const promptIds = req.messages ? this.encodeChat(req.messages) : this.tokenizer.encodePrompt(req.prompt ?? '');
    if (promptIds.length === 0) {
      // An empty prompt still needs one token to condition on: BOS as transformers does.
      const start = this.config.bosId ?? this.config.eosIds[0];
      if (start === undefined) throw ApiError.invalid('the prompt is empty', param);
      promptIds.push(start);
    }
    const room = this.contextLength - promptIds.length;
    if (room < 1) {
      throw ApiError.invalid(
        `the prompt is ${promptIds.length} tokens; model "${this.id}" has a context length of ` +
          `${this.contextLength} tokens, leaving no room for a completion`,
        param,
      );
    }
    const { params } = req;
    const seq = new Sequence({
      promptIds,
      maxTokens: Math.max(1, Math.min(params.maxTokens, room)),
      sampling: {
        temperature: params.temperature,
        topK: params.topK,
        topP: params.topP,
        repetitionPenalty: params.repetitionPenalty,
      },
      stop: params.stop,
      seed: params.seed,
      eosIds: this.eosIds,
      tokenizer: this.tokenizer,
      vocabSize: this.config.vocabSize,
      signal: req.signal,
    });
    try {
      this.scheduler.submit(seq);
    } catch (err) {
      seq.fail(err); // detaches its abort listener
      throw err;
    }
    return seq;
  }
}

/** Loads a model folder and returns a provider ready to serve it. */
export function createOnnxProvider(opts: OnnxProviderOptions): Promise<OnnxProvider> {
  return OnnxProvider.load(opts);
}
