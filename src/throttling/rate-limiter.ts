import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { AuthenticatedKey } from '../api-keys/authenticated-key';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code';
import { AppConfig } from '../config/app-config';
import { ReadinessRegistry } from '../common/lifecycle/readiness.registry';
import { RedisService } from '../redis/redis.service';
import { Clock, systemClock } from '../common/clock';
import { MemoryWindowStore } from './memory-window.store';
import { formatResetDuration, LimitKind, rateLimitHeaders, retryHeaders } from './rate-limit-headers';
import { RATE_LIMITER_OPTIONS, RateLimiterOptions } from './rate-limiter.options';
import { RedisWindowStore } from './redis-window.store';
import { Decision, LimitCheck, WindowGeometry } from './sliding-window';

export type LimiterMode = 'redis' | 'local';

interface KindCheck extends LimitCheck {
  kind: LimitKind;
}

/** A TPM charge taken before generation; settle it with the real count afterwards. */
export class TokenReservation {
  settled = false;

  constructor(
    readonly keyId: string,
    readonly tokens: number,
    /** The `-tokens` trio (and the `-requests` trio when a request limit applies). */
    readonly headers: Record<string, string>,
    /** Where the charge sits; absent when no token limit applies. */
    readonly slot?: { store: LimiterMode; id: string; bucket: number },
  ) {}
}

/**
 * Per-key requests-per-minute and tokens-per-minute (sliding window, see sliding-window.ts).
 * With Redis every decision is one Lua script, shared by all replicas; without it, or while it
 * is down, the same algorithm runs on in-process counters.
 */
@Injectable()
export class RateLimiter {
  private readonly logger = new Logger(RateLimiter.name);
  private readonly geometry: WindowGeometry;
  private readonly local: MemoryWindowStore;
  private readonly shared?: RedisWindowStore;
  private readonly prefix: string;
  private readonly clock?: Clock;
  private readonly rejectionListeners: ((kind: LimitKind) => void)[] = [];
  private warnedAt = 0;
  /** While set, decisions wait for the outage's local counts to reach Redis. */
  private carrying?: Promise<void>;

  constructor(
    private readonly config: AppConfig,
    private readonly redis: RedisService,
    readiness: ReadinessRegistry,
    @Optional() @Inject(RATE_LIMITER_OPTIONS) opts: RateLimiterOptions = {},
  ) {
    const windowMs = opts.windowMs ?? 60_000;
    const buckets = opts.buckets ?? 60;
    if (!Number.isInteger(windowMs / buckets) || windowMs <= 0)
      throw new Error('rate limit window must split into whole-millisecond buckets');
    this.geometry = { bucketMs: windowMs / buckets, buckets };
    this.prefix = opts.prefix ?? 'llm:';
    this.clock = opts.clock;
    this.local = new MemoryWindowStore(this.geometry);
    if (redis.client) {
      this.shared = new RedisWindowStore(redis.client, this.geometry);
      // Back on Redis: the counts made locally during the outage are added to the shared window
      // first, so a key cannot get a fresh window from an outage (docs/limits.md).
      redis.onAvailabilityChange((up) => {
        if (up) void this.carryIntoRedis();
      });
    }
    readiness.register('limits', async () => ({ up: true, mode: this.mode }));
  }

  /** Where decisions are made now; for the metrics gauge and readiness. */
  get mode(): LimiterMode {
    return this.sharedNow() ? 'redis' : 'local';
  }

  /** The Redis store while it decides: configured and reachable. */
  private sharedNow(): RedisWindowStore | undefined {
    return this.redis.available ? this.shared : undefined;
  }

  /** Metrics hook: called once per refused request. */
  onRejected(listener: (kind: LimitKind) => void): void {
    this.rejectionListeners.push(listener);
  }

  /** A key's own limit, else its role's default; null = unlimited. */
  limitsFor(key: AuthenticatedKey): { rpm: number | null; tpm: number | null } {
    return {
      rpm: key.rpm ?? this.config.rateLimits.rpm[key.role],
      tpm: key.tpm ?? this.config.rateLimits.tpm[key.role],
    };
  }

  /** Consumes one request; throws 429 `rate_limit_exceeded` (with all headers) when over. */
  async checkRequest(key: AuthenticatedKey): Promise<{ headers: Record<string, string> }> {
    const { rpm, tpm } = this.limitsFor(key);
    const checks: KindCheck[] = [];
    if (rpm !== null) checks.push({ kind: 'requests', limit: rpm, cost: 1 });
    if (tpm !== null) checks.push({ kind: 'tokens', limit: tpm, cost: 0 });
    if (!checks.length) return { headers: {} };
    const { decision } = await this.consume(key.id, checks);
    const headers = headersOf(checks, decision);
    if (!decision.allowed) throw this.rejection(checks, decision, headers);
    return { headers };
  }

  /** Charges `tokens` (prompt + max_tokens) against the key's TPM now; throws 429 when over. */
  async reserveTokens(key: AuthenticatedKey, tokens: number): Promise<TokenReservation> {
    const cost = Math.max(0, Math.ceil(tokens));
    const { rpm, tpm } = this.limitsFor(key);
    if (tpm === null) return new TokenReservation(key.id, cost, {});
    const checks: KindCheck[] = [{ kind: 'tokens', limit: tpm, cost }];
    if (rpm !== null) checks.push({ kind: 'requests', limit: rpm, cost: 0 });
    const { decision, store } = await this.consume(key.id, checks);
    const headers = headersOf(checks, decision);
    if (!decision.allowed) throw this.rejection(checks, decision, headers);
    return new TokenReservation(key.id, cost, headers, {
      store,
      id: this.storeKey(key.id, 'tokens'),
      bucket: decision.bucket,
    });
  }

  /** Gives back what was reserved but not used (or charges the excess). Idempotent. */
  async settleTokens(r: TokenReservation, actualTokens: number): Promise<void> {
    if (!r.slot || r.settled) return;
    r.settled = true;
    const delta = Math.max(0, Math.ceil(actualTokens)) - r.tokens;
    if (delta === 0) return;
    if (this.carrying) await this.carrying;
    // A local reservation whose key was carried into Redis meanwhile is settled there.
    const shared = this.shared;
    if (!shared || (r.slot.store === 'local' && (this.mode === 'local' || this.local.has(r.slot.id)))) {
      return this.local.adjust(r.slot.id, r.slot.bucket, delta, this.now());
    }
    try {
      await shared.adjust(r.slot.id, r.slot.bucket, delta, this.clock?.());
    } catch (err) {
      // A refund lost to an outage only makes the window stricter for under a minute.
      this.warn(err);
    }
  }

  /**
   * Adds every local count into Redis, one atomic script per limit, and forgets each once it is
   * there. Keys that fail (Redis gone again) stay local and go on the next recovery.
   */
  carryIntoRedis(): Promise<void> {
    const shared = this.shared;
    if (!shared) return Promise.resolve();
    return (this.carrying ??= (async () => {
      let carried = 0;
      for (const [id, buckets] of this.local.entries()) {
        try {
          carried += await shared.merge(id, buckets, this.clock?.());
          this.local.delete(id);
        } catch (err) {
          this.warn(err);
          return;
        }
      }
      if (carried)
        this.logger.log(
          `rate limits back on Redis: ${carried} requests and tokens counted during the outage carried over`,
        );
    })().finally(() => (this.carrying = undefined)));
  }

  private async consume(keyId: string, checks: KindCheck[]): Promise<{ decision: Decision; store: LimiterMode }> {
    const ids = checks.map((c) => this.storeKey(keyId, c.kind));
    if (this.carrying) await this.carrying;
    const shared = this.sharedNow();
    if (shared) {
      try {
        return { decision: await shared.consume(ids, checks, this.clock?.()), store: 'redis' };
      } catch (err) {
        this.warn(err);
      }
    }
    return { decision: this.local.consume(ids, checks, this.now()), store: 'local' };
  }

  private rejection(checks: KindCheck[], d: Decision, headers: Record<string, string>): ApiError {
    // A refused decision has at least one state with a wait.
    const i = checks.findIndex((_, n) => d.states[n].retryAfterMs !== 0);
    const failing = checks[i];
    const state = d.states[i];
    const windowMs = this.geometry.bucketMs * this.geometry.buckets;
    const retryMs = d.retryAfterMs === -1 ? windowMs : d.retryAfterMs;
    const per = windowMs === 60_000 ? 'minute' : formatResetDuration(windowMs);
    const message =
      state.retryAfterMs === -1
        ? `this request needs ${failing.cost} tokens, more than this API key's limit of ${failing.limit} tokens per ${per}`
        : failing.kind === 'requests'
          ? `rate limit exceeded: ${failing.limit} requests per ${per} for this API key; retry in ${formatResetDuration(retryMs)}`
          : `rate limit exceeded: ${failing.limit} tokens per ${per} for this API key; this request needs ${failing.cost}, ${state.remaining} remain; retry in ${formatResetDuration(retryMs)}`;
    for (const l of this.rejectionListeners) l(failing.kind);
    return new ApiError(ErrorCode.RateLimitExceeded, message, null, { ...headers, ...retryHeaders(retryMs) });
  }

  private storeKey(keyId: string, kind: LimitKind): string {
    // The hash tag keeps a key's limits in one Redis Cluster slot (one script touches both).
    return `${this.prefix}rl:{${keyId}}:${kind === 'requests' ? 'req' : 'tok'}`;
  }

  private now(): number {
    return (this.clock ?? systemClock)();
  }

  private warn(err: unknown): void {
    if (Date.now() - this.warnedAt < 10_000) return;
    this.warnedAt = Date.now();
    this.logger.warn(`rate limits on in-process counters: Redis failed (${(err as Error).message})`);
  }
}

function headersOf(checks: KindCheck[], d: Decision): Record<string, string> {
  return Object.assign({}, ...checks.map((c, i) => rateLimitHeaders(c.kind, d.states[i])));
}
