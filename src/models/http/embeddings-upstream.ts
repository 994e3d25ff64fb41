import type { Pool } from 'undici';
import { ApiError } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-code';
import type { HttpModelConfig } from '../registry/models-config';
import { retrying, type RetryContext } from './retrying';
import { upstreamHeaders, upstreamTransport, type UpstreamEndpointOptions } from './upstream-transport';
import { classifyReadError, classifyStatus, readCapped, settlePermit, type UpstreamFailure } from './upstream-errors';

type Json = Record<string, unknown>;

export interface UpstreamEmbeddings {
  data: Array<number[] | string>;
  promptTokens?: number;
}

/** OpenAI's embeddings fields plus our two extensions (TEI knows `truncate`). */
export const EMBEDDINGS_FIELDS = new Set([
  'model',
  'input',
  'encoding_format',
  'dimensions',
  'user',
  'truncate',
  'input_type',
]);

/** The first field that is not an embeddings field (models.yaml `params: strict` refuses it). */
export function firstUnknownEmbeddingsField(body: Json): string | undefined {
  return Object.keys(body).find((k) => !EMBEDDINGS_FIELDS.has(k));
}

export interface EmbeddingsUpstreamOptions extends UpstreamEndpointOptions {
  /** models.yaml `params`: `drop` removes fields that are not embeddings fields. */
  params?: HttpModelConfig['params'];
}

/**
 * A remote model's /embeddings (docs/embeddings.md): the client's body as sent, only `model`
 * replaced (and `drop_params` removed); the vectors and usage come back as the upstream gave
 * them. The same transport rules as the model's chat calls: a keep-alive pool of its own,
 * errors classified as for chat (upstream-errors.ts), what chat retries retried `max_retries`
 * times by the same loop (retrying.ts), and the model's circuit breaker; no fallback.
 */
export class EmbeddingsUpstream {
  private readonly pool: Pool;
  private readonly path: string;
  private readonly retryContext: RetryContext;
  private readonly headers: Record<string, string>;

  constructor(private readonly opts: EmbeddingsUpstreamOptions) {
    const transport = upstreamTransport(opts);
    ({ pool: this.pool, retryContext: this.retryContext } = transport);
    this.path = `${transport.basePath}/embeddings`;
    this.headers = upstreamHeaders(opts.apiKey, false);
  }

  /** The body as the upstream gets it. */
  body(body: Json): Json {
    const sent: Json = { ...body, model: this.opts.upstreamModel ?? this.opts.model };
    // models.yaml params (docs/api.md, wire fidelity): forward sends unknown fields, drop removes them.
    if (this.opts.params === 'drop') for (const k of Object.keys(sent)) if (!EMBEDDINGS_FIELDS.has(k)) delete sent[k];
    for (const k of this.opts.dropParams ?? []) delete sent[k];
    return sent;
  }

  async post(body: Json, signal?: AbortSignal): Promise<UpstreamEmbeddings> {
    const permit = this.opts.breaker.acquire();
    try {
      const text = JSON.stringify(this.body(body));
      // A 2xx answer that is unreadable or holds no embeddings is final: never retried.
      const outcome = await retrying<{ embeddings: UpstreamEmbeddings } | { final: UpstreamFailure }>(
        this.retryContext,
        signal,
        () => this.postOnce(text, signal),
      );
      const failure = 'failure' in outcome ? outcome.failure : 'final' in outcome ? outcome.final : undefined;
      if (failure) {
        settlePermit(permit, failure);
        throw failure.error;
      }
      permit.success();
      return (outcome as { embeddings: UpstreamEmbeddings }).embeddings;
    } finally {
      permit.cancel();
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async postOnce(
    body: string,
    signal?: AbortSignal,
  ): Promise<{ embeddings: UpstreamEmbeddings } | { final: UpstreamFailure } | { failure: UpstreamFailure }> {
    // Transport errors and aborts are classified by retrying().
    const res = await this.pool.request({ method: 'POST', path: this.path, headers: this.headers, body, signal });
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const text = await readCapped(res.body).catch(() => '');
      return { failure: classifyStatus(this.opts.model, res.statusCode, res.headers, text) };
    }
    let json: Json;
    try {
      json = (await res.body.json()) as Json;
    } catch (err) {
      if (signal?.aborted) throw err;
      return { final: classifyReadError(this.opts.model, err) };
    }
    const rows = Array.isArray(json.data) ? (json.data as Json[]) : undefined;
    if (!rows || rows.some((r) => !Array.isArray(r.embedding) && typeof r.embedding !== 'string')) {
      const error = new ApiError(ErrorCode.UpstreamError, `Upstream of model "${this.opts.model}" sent no embeddings`);
      return { final: { error, retryable: false, breakerFailure: true } };
    }
    // Order by index: OpenAI returns them in order, but the index is what the contract promises.
    const ordered = [...rows].sort((a, b) => Number(a.index ?? 0) - Number(b.index ?? 0));
    const usage = json.usage as { prompt_tokens?: unknown } | undefined;
    return {
      embeddings: {
        data: ordered.map((r) => r.embedding as number[] | string),
        promptTokens: typeof usage?.prompt_tokens === 'number' ? usage.prompt_tokens : undefined,
      },
    };
  }
}
