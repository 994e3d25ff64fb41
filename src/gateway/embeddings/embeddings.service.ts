import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AuthenticatedKey } from '../../api-keys/authenticated-key';
import { ApiError } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-code';
import { canEmbed, type Embedder } from '../../models/embedding-provider';
import { embeddingsUpstreamOf } from '../../models/http';
import { failedOutcome, type FailedUpstreamOutcome } from '../../models/upstream-outcome';
import { firstUnknownEmbeddingsField } from '../../models/http/embeddings-upstream';
import { ModelsService } from '../../models/models.service';
import { MetricsService } from '../../metrics/metrics.service';
import type { StreamEvent } from '../../models/provider.interface';
import type { HttpModelConfig, ResolvedModel } from '../../models/registry';
import { buildCall } from '../call-builder';
import { CompletionPipeline } from '../completion-pipeline';
import { collect, type InferenceCall } from '../inference-call';
import { recordRefusal } from '../settlement';
import { InferenceLogWriter } from '../../usage/inference-log.writer';
import { type EmbeddingsBody, inputList } from './embeddings.schemas';

const ENDPOINT = '/v1/embeddings';

export interface EmbeddingsAnswer {
  headers: Record<string, string>;
  body: {
    object: 'list';
    data: Array<{ object: 'embedding'; index: number; embedding: number[] | string }>;
    model: string;
    usage: { prompt_tokens: number; total_tokens: number };
  };
}

/**
 * /v1/embeddings through the completion pipeline (docs/embeddings.md): keys, allowed_models,
 * limits, quota (prompt tokens only), cache, settlement, inference_logs and metrics are the
 * pipeline's; this service tokenizes (local) or estimates (remote) the inputs and hands the
 * pipeline a `route` that computes the vectors. The answer travels through the pipeline (and the
 * cache) as one JSON text delta.
 */
@Injectable()
export class EmbeddingsService {
  constructor(
    private readonly pipeline: CompletionPipeline,
    private readonly models: ModelsService,
    private readonly logs: InferenceLogWriter,
    private readonly metrics: MetricsService,
  ) {}

  async create(
    body: EmbeddingsBody,
    key: AuthenticatedKey,
    req: FastifyRequest,
    signal: AbortSignal,
  ): Promise<EmbeddingsAnswer> {
    const inputs = inputList(body.input);
    const encodingFormat = body.encoding_format ?? 'float';
    const model = this.embeddingsModel(body.model);
    const base = buildCall(
      ENDPOINT,
      { model: body.model, temperature: 0, user: body.user },
      { prompt: JSON.stringify(inputs) },
      key,
      req,
      signal,
    );
    const extra = {
      encoding_format: encodingFormat,
      dimensions: body.dimensions,
      truncate: body.truncate,
      input_type: body.input_type,
    };
    // Not an embeddings model (or unknown): the pipeline refuses it, with its log row.
    if (!model) return this.answer(await this.pipeline.start({ ...base, promptTokens: 0 }));
    const startedAt = performance.now();
    const lease = this.models.lease(model.id);
    try {
      let call: InferenceCall;
      try {
        const unknown = model.config.params === 'strict' ? firstUnknownEmbeddingsField(body) : undefined;
        if (unknown !== undefined) {
          throw ApiError.invalid(
            `unknown field "${unknown}" (model "${model.id}" accepts only known parameters)`,
            unknown,
          );
        }
        if (model.config.provider === 'http') {
          call = await this.remoteCall(base, model.config, inputs, body);
        } else {
          if (!canEmbed(lease.provider))
            throw new ApiError(ErrorCode.ModelUnavailable, `model "${model.id}" cannot embed`);
          call = this.localCall(base, lease.provider, model.id, inputs, body, encodingFormat);
        }
      } catch (err) {
        // Refused before the pipeline (an input over the context, dimensions): its log row here.
        recordRefusal(
          { logs: this.logs },
          { requestId: req.id, keyId: key.id, model: model.id, endpoint: ENDPOINT, startedAt },
          err,
        );
        throw err;
      }
      return await this.answer(await this.pipeline.start({ ...call, cacheExtra: extra }));
    } finally {
      lease.release();
    }
  }

  private embeddingsModel(name: string): ResolvedModel | undefined {
    try {
      const model = this.models.resolve(name);
      return model.config.task === 'embeddings' && model.status !== 'error' ? model : undefined;
    } catch {
      return undefined;
    }
  }

  private localCall(
    base: InferenceCall,
    embedder: Embedder,
    id: string,
    inputs: Array<string | number[]>,
    body: EmbeddingsBody,
    encodingFormat: 'float' | 'base64',
  ): InferenceCall {
    const dims = body.dimensions;
    if (dims !== undefined && dims !== embedder.hiddenSize) {
      const allowed = embedder.matryoshkaDimensions;
      if (allowed.length === 0) {
        throw new ApiError(
          ErrorCode.UnsupportedParameter,
          `model "${id}" does not support "dimensions" (it declares no matryoshka_dimensions in models.yaml)`,
          'dimensions',
        );
      }
      if (!allowed.includes(dims)) {
        throw ApiError.invalid(
          `model "${id}" supports dimensions ${[...allowed, embedder.hiddenSize].filter(Boolean).join(', ')}`,
          'dimensions',
        );
      }
    }
    const prepared = embedder.prepare(inputs, { truncate: body.truncate, inputType: body.input_type });
    const route = async function* (r: { signal?: AbortSignal }): AsyncGenerator<StreamEvent> {
      const data = await embedder.embed({ rows: prepared.rows, dimensions: dims, encodingFormat, signal: r.signal });
      yield { type: 'delta', text: JSON.stringify(data) };
      yield { type: 'done', finishReason: 'stop', usage: { promptTokens: prepared.promptTokens, completionTokens: 0 } };
    };
    return { ...base, promptTokens: prepared.promptTokens, route };
  }

  private async remoteCall(
    base: InferenceCall,
    cfg: HttpModelConfig,
    inputs: Array<string | number[]>,
    body: EmbeddingsBody,
  ): Promise<InferenceCall> {
    let estimate = 0;
    for (const input of inputs)
      estimate += typeof input === 'string' ? await this.models.countTokens(cfg.id, input) : input.length;
    const { models, metrics } = this;
    const route = async function* (r: { signal?: AbortSignal }): AsyncGenerator<StreamEvent> {
      // Leased like chat: a models.yaml reload drains the provider (and its pool) first.
      const lease = models.lease(cfg.id);
      let res;
      let outcome: 'success' | FailedUpstreamOutcome | undefined;
      try {
        const upstream = embeddingsUpstreamOf(lease.provider);
        if (!upstream) throw new ApiError(ErrorCode.ModelUnavailable, `model "${cfg.id}" has no /embeddings upstream`);
        res = await upstream.post(body as Record<string, unknown>, r.signal);
        outcome = 'success';
      } catch (err) {
        // Counted as the router counts chat attempts (llm_upstream_requests_total); a client that left is no outcome.
        if (!r.signal?.aborted) outcome = failedOutcome(err);
        throw err;
      } finally {
        lease.release({ failed: outcome !== 'success' });
        if (outcome) metrics.upstreamOutcome(cfg.id, outcome);
      }
      yield { type: 'delta', text: JSON.stringify(res.data) };
      const usage =
        res.promptTokens === undefined
          ? { promptTokens: estimate, completionTokens: 0, estimated: true }
          : { promptTokens: res.promptTokens, completionTokens: 0 };
      yield { type: 'done', finishReason: 'stop', usage };
    };
    return { ...base, promptTokens: estimate, route };
  }

  private async answer(run: Awaited<ReturnType<CompletionPipeline['start']>>): Promise<EmbeddingsAnswer> {
    const result = await collect(run);
    const data = JSON.parse(result.text) as Array<number[] | string>;
    const tokens = result.usage.promptTokens;
    return {
      headers: run.headers,
      body: {
        object: 'list',
        data: data.map((embedding, index) => ({ object: 'embedding', index, embedding })),
        model: run.model,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      },
    };
  }
}
