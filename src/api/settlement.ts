import { Logger } from '@nestjs/common';
import type { AuthenticatedKey } from '../api-keys/authenticated-key';
import type { TokenUsage } from '../inference/provider.interface';
import type { QuotaReservation } from '../quota/quota-reservation';
import type { QuotaService } from '../quota/quota.service';
import type { TokenReservation, RateLimiter } from '../throttling/rate-limiter';
import type { UsageRecorder } from '../usage/usage-rollup.recorder';
import type { StreamEnd } from './accounted-stream';
import type { CacheStatus, Endpoint } from './inference-call';

export interface SettlementDeps {
  quota: QuotaService;
  limiter: RateLimiter;
  usage: UsageRecorder;
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
  cache: CacheStatus;
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
  const usage = await actualUsage(deps, ctx, end);
  const total = usage.promptTokens + usage.completionTokens;
  const hit = ctx.cache === 'hit';
  try {
    if (hit) await deps.quota.settleCacheHit(ctx.quota, usage);
    else if (end.kind !== 'done' && usage.completionTokens === 0) await deps.quota.release(ctx.quota);
    else await deps.quota.settle(ctx.quota, usage);
    const countsTokens = !hit || deps.quota.cacheHitsCount;
    await deps.limiter.settleTokens(ctx.tpm, countsTokens ? (end.kind === 'done' || usage.completionTokens > 0 ? total : 0) : 0);
    if (end.kind === 'done' || usage.completionTokens > 0) {
      deps.usage.record({ keyId: ctx.key.id, model: ctx.model, promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, cached: hit });
    }
  } catch (err) {
    logger.error({ err, request_id: ctx.requestId }, 'could not settle a request');
  }
  return { usage, end };
}

async function actualUsage(deps: SettlementDeps, ctx: SettlementContext, end: StreamEnd): Promise<TokenUsage> {
  if (end.kind === 'done') return end.usage;
  const partial = end.kind === 'error' ? (end.error as { partialUsage?: TokenUsage }).partialUsage : undefined;
  if (partial) return partial;
  // Failed or cancelled mid-answer: what was generated before still counts.
  let completionTokens = 0;
  if (end.text) {
    completionTokens = await deps.countTokens(ctx.model, end.text).catch(() => Math.ceil(end.text.length / 4));
  }
  return { promptTokens: ctx.promptTokens, completionTokens };
}
