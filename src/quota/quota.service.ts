import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
import type { AuthenticatedKey } from '../api-keys/authenticated-key';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code';
import { FlushRegistry } from '../common/lifecycle/flush.registry';
import { AppConfig } from '../config/app-config';
import { ReadinessRegistry } from '../common/lifecycle/readiness.registry';
import { RedisService } from '../redis/redis.service';
import { Clock, systemClock } from '../common/clock';
import { ENTRY_GRACE_MS, QuotaLedgers } from './quota-ledgers';
import { periodAt, QuotaPeriod } from './quota-period';
import { QuotaMode, QuotaReservation } from './quota-reservation';
import { QuotaWriteBehind } from './quota-write-behind';
import { QUOTA_OPTIONS, QuotaOptions } from './quota.options';
import { type PeriodRow, QuotaRepository } from './quota.repository';

export interface QuotaSnapshot {
  periodStart: Date;
  resetAt: Date;
  quotaTokens: number | null;
  usedTokens: number;
  reservedTokens: number;
  remainingTokens: number | null;
}

/**
 * Token quotas per key and period, across concurrent requests and replicas: every token used is
 * charged; with exact counts (local models) the charge never exceeds the quota, and with
 * estimated ones (remote models) it may only by the estimation error of requests in flight. A
 * key with quota left is served (max_tokens clamped to what is left, if one token fits).
 */
@Injectable()
export class QuotaService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(QuotaService.name);
  private readonly ledgers: QuotaLedgers;
  private readonly clock: Clock;
  private readonly rejectionListeners: (() => void)[] = [];

  constructor(
    private readonly config: AppConfig,
    private readonly repo: QuotaRepository,
    redis: RedisService,
    readiness: ReadinessRegistry,
    flushes: FlushRegistry,
    @Optional() @Inject(QUOTA_OPTIONS) opts: QuotaOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    const writeBehind = new QuotaWriteBehind(repo, {
      intervalMs: config.quota.flushMs,
      onTick: () => this.ledgers.local.prune(this.currentPeriod().start),
    });
    this.ledgers = new QuotaLedgers(repo, writeBehind, redis, opts.prefix ?? 'llm:');
    flushes.register(
      'quota ledgers',
      () => writeBehind.close(),
      () => writeBehind.dropped,
    );
    readiness.register('quota', async () => ({ up: true, mode: this.mode }));
  }

  /** Settled usage is written behind on QUOTA_FLUSH_MS; the one shutdown flush is FlushRegistry's. */
  onModuleInit(): void {
    this.ledgers.writeBehind.start();
  }

  onModuleDestroy(): void {
    this.ledgers.writeBehind.stop();
  }

  /** redis | postgres (Redis configured but down) | local; for the metrics gauge. */
  get mode(): QuotaMode {
    return this.ledgers.mode;
  }

  /** Metrics hook: called once per 402. */
  onRejected(listener: () => void): void {
    this.rejectionListeners.push(listener);
  }

  /** Whether answers served from the cache count against quotas (and TPM). */
  get cacheHitsCount(): boolean {
    return this.config.quota.cacheHitsCountTokens;
  }

  /** The key's own quota, else its role's default; null = unlimited. */
  quotaFor(key: AuthenticatedKey): number | null {
    return key.quotaTokens ?? this.config.quota.tokens[key.role];
  }

  /** The quota clock (injectable in tests). */
  now(): Date {
    return new Date(this.clock());
  }

  currentPeriod(): QuotaPeriod {
    return periodAt(this.config.quota.period, this.now());
  }

  /**
   * Holds prompt + max_tokens (max_tokens clamped to what is left); throws 402 quota_exhausted.
   * `estimated`: the prompt count is a guess (a remote model's upstream counts for itself), so
   * QUOTA_REMOTE_MARGIN more is held for it.
   */
  async reserve(
    key: AuthenticatedKey,
    promptTokens: number,
    maxTokens: number,
    opts: { estimated?: boolean; minCompletion?: number } = {},
  ): Promise<QuotaReservation> {
    const quota = this.quotaFor(key);
    const period = this.currentPeriod();
    const prompt = wholeTokens(
      opts.estimated ? withMargin(promptTokens, this.config.quota.remoteMargin) : promptTokens,
    );
    const max = wholeTokens(maxTokens);
    // At least one token per choice (n > 1 asks for several).
    const ask = { promptTokens: prompt, maxTokens: max, quota, minCompletion: Math.min(opts.minCompletion ?? 1, max) };
    const ref = { keyId: key.id, periodStart: period.start };
    const ttl = period.end.getTime() - this.clock() + ENTRY_GRACE_MS;
    const { outcome, store } = await this.ledgers.reserve(ref, ask, ttl);
    if (outcome.state === 'refused') {
      for (const l of this.rejectionListeners) l();
      const reset = period.end.toISOString();
      throw new ApiError(
        ErrorCode.QuotaExhausted,
        `token quota exhausted: ${outcome.used + outcome.reserved} of this API key's ${quota} tokens for the period are used or reserved ` +
          `and this request needs at least ${prompt + ask.minCompletion}; the quota resets at ${reset}`,
        null,
        { 'x-quota-reset': reset },
      );
    }
    const remaining = quota === null ? null : Math.max(0, quota - outcome.used - outcome.reserved);
    const r = new QuotaReservation(
      key.id,
      period.start,
      period.end,
      quota,
      prompt,
      max,
      outcome.granted,
      remaining,
      store,
    );
    await this.ledgers.track(r);
    return r;
  }

  /**
   * Counts what the request really used and gives back the rest. A cancelled request passes
   * what was generated before the cancel. Idempotent.
   */
  async settle(r: QuotaReservation, actual: { promptTokens: number; completionTokens: number }): Promise<void> {
    if (r.settled) return;
    r.settled = true;
    const total = wholeTokens(actual.promptTokens) + wholeTokens(actual.completionTokens);
    // Every token is charged, past the reservation too: the ledger must equal the usage records
    // and what the client was told. Only a remote model's estimate can fall short, and the
    // reservation margin keeps that rare; the bound is in docs/limits.md.
    if (total > r.reservedTokens)
      this.logger.debug(`request used ${total} tokens, ${r.reservedTokens} reserved: charging all of them`);
    await this.ledgers.settle(r, total);
  }

  /** Nothing was generated (failure before the first token): everything goes back. */
  release(r: QuotaReservation): Promise<void> {
    return this.settle(r, { promptTokens: 0, completionTokens: 0 });
  }

  /** A cache hit costs nothing unless CACHE_HITS_COUNT_TOKENS. */
  settleCacheHit(r: QuotaReservation, usage: { promptTokens: number; completionTokens: number }): Promise<void> {
    return this.cacheHitsCount ? this.settle(r, usage) : this.release(r);
  }

  /** The key's recorded periods that start in [from, to) (admin usage history). */
  periods(keyId: string, from: Date, to: Date): Promise<PeriodRow[]> {
    return this.repo.periods(keyId, from, to);
  }

  /** The key's current period as GET /v1/usage shows it. */
  async snapshot(key: AuthenticatedKey): Promise<QuotaSnapshot> {
    const period = this.currentPeriod();
    const quota = this.quotaFor(key);
    const s = await this.ledgers.read({ keyId: key.id, periodStart: period.start });
    return {
      periodStart: period.start,
      resetAt: period.end,
      quotaTokens: quota,
      usedTokens: s.used,
      reservedTokens: s.reserved,
      remainingTokens: quota === null ? null : Math.max(0, quota - s.used - s.reserved),
    };
  }

  /** Writes settled usage to PostgreSQL now; resolves to the ledger rows (key and period) written. */
  async flush(): Promise<number> {
    const written = await this.ledgers.writeBehind.flush();
    this.ledgers.local.prune(this.currentPeriod().start);
    return written;
  }
}

function wholeTokens(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.ceil(n) : 0;
}

/** n × (1 + margin), rounded up, without float noise (10 × 1.2 is 12, not 13). */
export function withMargin(n: number, margin: number): number {
  return Math.ceil(Math.round(n * (1 + margin) * 1e6) / 1e6);
}
