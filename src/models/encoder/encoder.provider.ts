import * as ort from 'onnxruntime-node';
import { ApiError } from '../../common/errors/api-error';
import type { EmbedRequest, Embedder, PreparedInput } from '../embedding-provider';
import { ModelLoadError } from '../onnx/errors';
import type { EngineHooks } from '../onnx/hooks';
import { halfRowToFloat } from '../onnx/tensors';
import { createMappedSession, type Device, type EffectiveDevice, type EngineLogger } from '../onnx/session';
import type { GenerateResult, LlmProvider, ProviderHealth, StreamEvent } from '../provider.interface';
import type { OnnxModelConfig } from '../registry/models-config';
import { EmbedBatcher } from './embed-batcher';
import { loadEncoderFolder, type Pooling } from './encoder-folder';
import { normalize, poolRow, toBase64, truncateDims } from './pooling';

export interface EncoderOptions {
  id: string;
  path: string;
  device?: Device;
  /** fp32 (default), q8, fp16...: picks onnx/model{suffix}.onnx. */
  variant?: string;
  /** A graph file inside the folder, instead of the variant's name. */
  file?: string;
  /** Overrides 1_Pooling/config.json; default mean when neither says. */
  pooling?: Pooling;
  /** L2-normalise vectors. Default true. */
  normalize?: boolean;
  queryPrefix?: string;
  documentPrefix?: string;
  matryoshkaDimensions?: number[];
  /** Rows per forward pass. Default 8 (measured best on CPU: docs/performance.md, "Embeddings"). */
  maxBatchSize?: number;
  /** Padded tokens per forward pass. Default 4096. */
  maxBatchTokens?: number;
  /** Rows that may wait. Default 2048. */
  maxQueue?: number;
  threads?: number;
  logger?: EngineLogger;
  hooks?: EngineHooks;
}

/**
 * A local sentence encoder (docs/embeddings.md): Hugging Face encoder exports with input_ids,
 * attention_mask and optional token_type_ids; vectors pooled from last_hidden_state (or the
 * graph's own sentence_embedding), batched across concurrent requests by an EmbedBatcher.
 */
export class EncoderProvider implements LlmProvider, Embedder {
  readonly kind = 'onnx' as const;
  private readonly batcher: EmbedBatcher;
  /** Inline weights onnxruntime maps from the graph file instead of copying (0: none). */
  mappedWeights = 0;

  private constructor(
    private readonly opts: EncoderOptions,
    private readonly folder: ReturnType<typeof loadEncoderFolder>,
    private readonly session: ort.InferenceSession,
    readonly device: EffectiveDevice,
    private readonly pooling: Pooling,
    private readonly output: 'last_hidden_state' | 'sentence_embedding',
    private readonly padId: number,
    readonly hiddenSize: number | undefined,
  ) {
    this.batcher = new EmbedBatcher(
      (rows) => this.forward(rows),
      {
        maxBatchSize: opts.maxBatchSize ?? 8,
        maxBatchTokens: opts.maxBatchTokens ?? 4096,
        maxQueue: opts.maxQueue ?? 2048,
      },
      opts.hooks,
    );
  }

  static async create(opts: EncoderOptions): Promise<EncoderProvider> {
    const folder = loadEncoderFolder(opts.path, opts.variant, opts.file);
    // Weights memory-mapped from the graph file, as for generation models (session.ts).
    const { session, device, mappedWeights } = await createMappedSession(folder.onnxFile, {
      device: opts.device ?? 'cpu',
      threads: opts.threads,
      spinWait: false,
      logger: opts.logger,
    });
    for (const name of ['input_ids', 'attention_mask']) {
      if (!session.inputNames.includes(name))
        throw new ModelLoadError(folder.onnxFile, `the graph has no "${name}" input`);
    }
    // An explicit pooling (models.yaml) means "pool the token states"; otherwise a graph that
    // pools itself is trusted.
    const output =
      opts.pooling === undefined && session.outputNames.includes('sentence_embedding')
        ? 'sentence_embedding'
        : 'last_hidden_state';
    if (!session.outputNames.includes(output)) {
      throw new ModelLoadError(folder.onnxFile, `the graph has no "last_hidden_state" or "sentence_embedding" output`);
    }
    const padId = padTokenId(folder.tokenizer);
    const meta = session.outputMetadata.find?.((m) => m.name === output) as { shape?: unknown[] } | undefined;
    const last = meta?.shape?.[meta.shape.length - 1];
    const provider = new EncoderProvider(
      opts,
      folder,
      session,
      device,
      opts.pooling ?? folder.pooling ?? 'mean',
      output,
      padId,
      typeof last === 'number' ? last : undefined,
    );
    provider.mappedWeights = mappedWeights;
    return provider;
  }

  get version(): string {
    return this.folder.version;
  }

  get contextLength(): number {
    return this.folder.contextLength;
  }

  get matryoshkaDimensions(): readonly number[] {
    return this.opts.matryoshkaDimensions ?? [];
  }

  setHooks(hooks: EngineHooks): void {
    this.batcher.setHooks(hooks);
  }

  generate(): Promise<GenerateResult> {
    return Promise.reject(this.notGenerative());
  }

  // eslint-disable-next-line require-yield
  async *stream(): AsyncIterable<StreamEvent> {
    throw this.notGenerative();
  }

  async countTokens(input: string | unknown[]): Promise<number> {
    if (typeof input !== 'string') throw this.notGenerative();
    return this.folder.tokenizer.encode(input, { add_special_tokens: true }).ids.length;
  }

  prepare(
    inputs: Array<string | number[]>,
    opts: { truncate?: boolean; inputType?: 'query' | 'document' },
  ): PreparedInput {
    const prefix = (opts.inputType === 'query' ? this.opts.queryPrefix : this.opts.documentPrefix) ?? '';
    const max = this.contextLength;
    const vocab = this.folder.vocabSize;
    const rows = inputs.map((input, index) => {
      let ids: number[];
      if (typeof input === 'string') {
        ids = this.folder.tokenizer.encode(prefix + input, { add_special_tokens: true }).ids;
      } else {
        const bad = input.findIndex((t) => vocab !== undefined && t >= vocab);
        if (bad >= 0)
          throw ApiError.invalid(
            `input[${index}][${bad}]: token id ${input[bad]} is not in the model's vocabulary (size ${vocab})`,
            'input',
          );
        ids = input;
      }
      if (ids.length === 0) throw ApiError.invalid(`input[${index}] is empty`, 'input');
      if (ids.length <= max) return ids;
      if (!opts.truncate) {
        throw ApiError.invalid(
          `input[${index}] is ${ids.length} tokens; model "${this.opts.id}" accepts at most ${max} (send "truncate": true to cut it)`,
          'input',
        );
      }
      // Keep the closing special token ([SEP], </s>), as Hugging Face truncation does.
      return typeof input === 'string' ? [...ids.slice(0, max - 1), ids[ids.length - 1]] : ids.slice(0, max);
    });
    return { rows, promptTokens: rows.reduce((n, r) => n + r.length, 0) };
  }

  async embed(req: EmbedRequest): Promise<Array<number[] | string>> {
    const vectors = await this.batcher.submit(req.rows, req.signal);
    const renorm = this.opts.normalize !== false;
    return vectors.map((v) => {
      const out = truncateDims(v, req.dimensions, renorm);
      return req.encodingFormat === 'base64' ? toBase64(out) : Array.from(out);
    });
  }

  async health(): Promise<ProviderHealth> {
    return {
      up: true,
      detail: `onnx encoder on ${this.device}`,
      inflight: this.batcher.busy ? this.batcher.lastBatchSize : 0,
      queued: this.batcher.queued,
    };
  }

  stats(): { inflight: number; queued: number; lastBatchSize: number } {
    return {
      inflight: this.batcher.busy ? this.batcher.lastBatchSize : 0,
      queued: this.batcher.queued,
      lastBatchSize: this.batcher.lastBatchSize,
    };
  }

  async close(): Promise<void> {
    this.batcher.close();
    await this.session.release();
  }

  /** One forward pass over right-padded rows. */
  private async forward(rows: number[][]): Promise<Float32Array[]> {
    const B = rows.length;
    const S = Math.max(...rows.map((r) => r.length));
    const ids = new BigInt64Array(B * S).fill(BigInt(this.padId));
    const mask = new BigInt64Array(B * S);
    rows.forEach((r, b) => {
      for (let t = 0; t < r.length; t++) {
        ids[b * S + t] = BigInt(r[t]);
        mask[b * S + t] = 1n;
      }
    });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [B, S]),
      attention_mask: new ort.Tensor('int64', mask, [B, S]),
    };
    if (this.session.inputNames.includes('token_type_ids'))
      feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(B * S), [B, S]);
    const out = await this.session.run(feeds, [this.output]);
    const t = out[this.output];
    // fp16 exports answer float16 (raw bits): widened once per pass.
    const data =
      t.type === 'float16' ? halfRowToFloat(t.data as Uint16Array, 0, t.data.length) : (t.data as Float32Array);
    const dim = t.dims[t.dims.length - 1];
    const renorm = this.opts.normalize !== false;
    return rows.map((r, b) => {
      const v =
        this.output === 'sentence_embedding'
          ? data.slice(b * dim, (b + 1) * dim)
          : poolRow(data, b, S, dim, r.length, this.pooling);
      return renorm ? normalize(v) : v;
    });
  }

  private notGenerative(): ApiError {
    return ApiError.invalid(`model "${this.opts.id}" is an embeddings model: it serves /v1/embeddings only`, 'model');
  }
}

function padTokenId(tokenizer: { token_to_id(t: string): number | undefined }): number {
  for (const t of ['[PAD]', '<pad>', '<|endoftext|>', '<|pad|>']) {
    const id = tokenizer.token_to_id(t);
    if (id !== undefined) return id;
  }
  return 0;
}

export function createEncoderProvider(opts: EncoderOptions): Promise<EncoderProvider> {
  return EncoderProvider.create(opts);
}

/** models.yaml settings → provider options (the server's default device when the model names none). */
export function encoderOptions(
  cfg: OnnxModelConfig,
  device: Device,
  logger?: EngineLogger,
  hooks?: EngineHooks,
): EncoderOptions {
  return {
    id: cfg.id,
    path: cfg.path,
    device: cfg.device ?? device,
    variant: cfg.dtype,
    file: cfg.file,
    pooling: cfg.pooling,
    normalize: cfg.normalize,
    queryPrefix: cfg.queryPrefix,
    documentPrefix: cfg.documentPrefix,
    matryoshkaDimensions: cfg.matryoshkaDimensions,
    maxBatchSize: cfg.maxBatchSize,
    maxBatchTokens: cfg.maxBatchTokens,
    maxQueue: cfg.maxQueue,
    threads: cfg.threads,
    logger,
    hooks,
  };
}
