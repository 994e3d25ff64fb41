import { Logger } from '@nestjs/common';
import type { AuthenticatedKey } from '../api-keys/authenticated-key';
import { PartialOutputError } from '../models/partial-output.error';
import type { ProviderKind, TokenUsage } from '../models/provider.interface';
import type { QuotaReservation } from '../quota/quota-reservation';
import type { QuotaService } from '../quota/quota.service';
import type { TokenReservation, RateLimiter } from '../throttling/rate-limiter';
import type { UsageRecorder } from '../usage/usage.recorder';
import type { MetricsService } from '../metrics/metrics.service';
import type { InferenceLogWriter } from '../usage/inference-log.writer';
import { toApiError } from '../common/errors/all-exceptions.filter';
import type { StreamEnd } from './accounted-stream';
import type { CacheSource } from '../cache/cache-request';
import type { Endpoint } from './inference-call';

export interface SettlementDeps {
  quota: QuotaService;
  limiter: RateLimiter;
  usage: UsageRecorder;
  metrics: MetricsService;
  logs: InferenceLogWriter;
  countTokens(model: string, text: string): Promise<number>;
}

export interface SettlementContext {
  key: AuthenticatedKey;
  endpoint: Endpoint;
  requestId: string;
  /** The model that answered (after fallbacks). */
  model: string;
  promptTokens: number;
  quota: QuotaReservation;
  tpm: TokenReservation;
  cache: CacheSource;
  /** onnx | http; null for cache hits (no provider was reached). */
  provider: ProviderKind | null;
  /** performance.now() when the request entered the pipeline. */
  startedAt: number;
  /** A streamed answer whose 200 and first events were sent: later failures travel as error events. */
  streaming: boolean;
  committed: boolean;
}

/** What an ended request really cost, as every ledger records it. */
export interface Settled {
  usage: TokenUsage;
  end: StreamEnd;
}

const logger = new Logger('Settlement');

/**
 * After a request ends, every ledger hears the same figures: the quota (settle or release),
 * the token rate window (refund the unused part), and the daily rollups. Failures here are
 * logged, never thrown: the client already has its answer.
 */
export async function settle(deps: SettlementDeps, ctx: SettlementContext, end: StreamEnd): Promise<Settled> {
  const measured = await actualUsage(deps, ctx, end);
  // A failure before any output costs nothing; a completed, cancelled or partly answered request
  // costs what it used. Every record below gets the same figures (docs/limits.md).
  const charged = end.kind !== 'error' || measured.completionTokens > 0;
  const usage: TokenUsage = charged ? measured : { promptTokens: 0, completionTokens: 0 };
  const total = usage.promptTokens + usage.completionTokens;
  const hit = ctx.cache === 'hit';
  try {
    if (hit) await deps.quota.settleCacheHit(ctx.quota, usage);
    else if (!charged) await deps.quota.release(ctx.quota);
    else await deps.quota.settle(ctx.quota, usage);
    const countsTokens = !hit || deps.quota.cacheHitsCount;
    await deps.limiter.settleTokens(ctx.tpm, countsTokens ? total : 0);
    if (charged) {
      deps.usage.record({
        keyId: ctx.key.id,
        model: ctx.model,
        promptTokens: usage.promptTokens,
        completionTokens: usage.completionTokens,
        cached: hit,
      });
    }
  } catch (err) {
    logger.error({ err, request_id: ctx.requestId }, 'could not settle a request');
  }
  observe(deps, ctx, end, usage);
  return { usage, end };
}

/** Metrics and the inference_logs row: recorded before the last byte goes out, so a graceful shutdown keeps it. */
function observe(deps: SettlementDeps, ctx: SettlementContext, end: StreamEnd, usage: TokenUsage): void {
  const seconds = (performance.now() - ctx.startedAt) / 1000;
  const error = end.kind === 'error' ? toApiError(end.error) : undefined;
  if (!error || usage.completionTokens > 0) {
    deps.metrics.countTokens(ctx.model, usage.promptTokens, usage.completionTokens);
    deps.metrics.countTokenDetails(ctx.model, usage.cachedPromptTokens ?? 0, usage.reasoningTokens ?? 0);
  }
  if (end.kind === 'done' && ctx.provider) {
    deps.metrics.observeInference(ctx.model, ctx.provider, seconds);
    if (end.firstTokenMs !== undefined) {
      deps.metrics.observeTtft(ctx.model, end.firstTokenMs / 1000);
      if (usage.completionTokens > 1)
        deps.metrics.observeInterToken(ctx.model, (seconds - end.firstTokenMs / 1000) / (usage.completionTokens - 1));
    }
  }
  deps.logs.record({
    requestId: ctx.requestId,
    keyId: ctx.key.id,
    model: ctx.model,
    provider: ctx.provider,
    endpoint: ctx.endpoint,
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    estimatedTokens: usage.estimated === true,
    cachedPromptTokens: usage.cachedPromptTokens ?? null,
    reasoningTokens: usage.reasoningTokens ?? null,
    cached: ctx.cache === 'hit',
    status: httpStatus(ctx, end, error),
    errorCode: error?.code ?? (end.kind === 'cancelled' ? 'client_closed' : null),
    finishReason: end.kind === 'done' ? end.finishReason : null,
    latencyMs: seconds * 1000,
    timeToFirstTokenMs: end.firstTokenMs ?? null,
  });
}

/** The status the client saw: a stream that fails after it started was answered 200 (with an error event). */
function httpStatus(ctx: SettlementContext, end: StreamEnd, error?: { status: number }): number {
  if (end.kind === 'cancelled') return 499;
  if (!error || (ctx.streaming && ctx.committed)) return 200;
  return error.status;
}

/** A call refused before it started (limits, quota, model, prompt): its row and nothing else. */
export function recordRefusal(
  deps: Pick<SettlementDeps, 'logs'>,
  call: { requestId: string; keyId: string; model?: string; endpoint: Endpoint; startedAt: number },
  err: unknown,
): void {
  const e = toApiError(err);
  deps.logs.record({
    requestId: call.requestId,
    keyId: call.keyId,
    model: call.model ?? 'default',
    provider: null,
    endpoint: call.endpoint,
    promptTokens: 0,
    completionTokens: 0,
    cached: false,
    status: e.status,
    errorCode: e.code,
    latencyMs: performance.now() - call.startedAt,
  });
}

async function actualUsage(deps: SettlementDeps, ctx: SettlementContext, end: StreamEnd): Promise<TokenUsage> {
  if (end.kind === 'done') return wholeUsage(end.usage);
  if (end.kind === 'error' && end.error instanceof PartialOutputError) return wholeUsage(end.error.partialUsage);
  // Failed or cancelled mid-answer: what was generated before still counts. A recount of the
  // text can differ from the tokens the model produced, but never past what was asked for.
  let completionTokens = 0;
  if (end.text) {
    completionTokens = await deps.countTokens(ctx.model, end.text).catch(() => Math.ceil(end.text.length / 4));
    completionTokens = Math.min(completionTokens, ctx.quota.maxTokens);
  }
  return { promptTokens: ctx.promptTokens, completionTokens, ...(ctx.provider === 'onnx' ? {} : { estimated: true }) };
}

/** Whole, non-negative counts: what the ledger charges is exactly what the records say. */
function wholeUsage(u: TokenUsage): TokenUsage {
  const whole = (n: number) => (Number.isFinite(n) && n > 0 ? Math.ceil(n) : 0);
  return { ...u, promptTokens: whole(u.promptTokens), completionTokens: whole(u.completionTokens) };
}
