import { request } from 'undici';
import { ApiError } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-code';
import type { HttpModelConfig } from '../registry/models-config';
import { DEFAULT_RETRY } from './retry-policy';
import { retrying } from './retrying';
import { classifyReadError, classifyStatus, readCapped, type UpstreamFailure } from './upstream-errors';

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

/**
 * A remote model's /embeddings (docs/embeddings.md): the client's body as sent, only `model`
 * replaced (and `drop_params` removed); the vectors and usage come back as the upstream gave
 * them. Errors are classified as for chat (upstream-errors.ts) and what chat retries is retried
 * here, `max_retries` times by the same loop (retrying.ts); no fallback.
 */
export async function postEmbeddings(
  cfg: HttpModelConfig,
  apiKey: string | undefined,
  body: Json,
  signal?: AbortSignal,
): Promise<UpstreamEmbeddings> {
  const ctx = { model: cfg.id, retry: { ...DEFAULT_RETRY, maxRetries: cfg.maxRetries } };
  // A 2xx answer that is unreadable or holds no embeddings is final: never retried.
  const outcome = await retrying<{ embeddings: UpstreamEmbeddings } | { final: ApiError }>(
    ctx,
    signal,
    () => postOnce(cfg, apiKey, body, signal),
    (err) => (err instanceof ApiError ? { final: err } : undefined),
  );
  if ('failure' in outcome) throw outcome.failure.error;
  if ('final' in outcome) throw outcome.final;
  return outcome.embeddings;
}

async function postOnce(
  cfg: HttpModelConfig,
  apiKey: string | undefined,
  body: Json,
  signal?: AbortSignal,
): Promise<{ embeddings: UpstreamEmbeddings } | { failure: UpstreamFailure }> {
  const sent: Json = { ...body, model: cfg.upstreamModel ?? cfg.id };
  // models.yaml params (docs/api.md, wire fidelity): forward sends unknown fields, drop removes them.
  if (cfg.params === 'drop') for (const k of Object.keys(sent)) if (!EMBEDDINGS_FIELDS.has(k)) delete sent[k];
  for (const k of cfg.dropParams ?? []) delete sent[k];
  const url = `${cfg.baseUrl.replace(/\/+$/, '')}/embeddings`;
  // Transport errors and aborts are classified by retrying().
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    body: JSON.stringify(sent),
    headersTimeout: cfg.timeoutMs,
    bodyTimeout: cfg.timeoutMs,
    signal,
  });
  if (res.statusCode < 200 || res.statusCode >= 300) {
    const text = await readCapped(res.body).catch(() => '');
    return { failure: classifyStatus(cfg.id, res.statusCode, res.headers, text) };
  }
  let json: Json;
  try {
    json = (await res.body.json()) as Json;
  } catch (err) {
    throw classifyReadError(cfg.id, err).error;
  }
  const rows = Array.isArray(json.data) ? (json.data as Json[]) : undefined;
  if (!rows || rows.some((r) => !Array.isArray(r.embedding) && typeof r.embedding !== 'string')) {
    throw new ApiError(ErrorCode.UpstreamError, `Upstream of model "${cfg.id}" sent no embeddings`);
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
