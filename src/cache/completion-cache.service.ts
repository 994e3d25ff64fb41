import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code';
import { FlushRegistry } from '../common/lifecycle/flush.registry';
import { AppConfig } from '../config/app-config';
import type { StreamEvent } from '../models/provider.interface';
import { CacheEvictor } from './cache-evictor';
import type { CacheRequest, CacheRunResult, ComputeContext, ComputeFn } from './cache-request';
import { cacheKey, type CacheKey } from './cache-key';
import { cachePolicy, type CachePolicy } from './cache-policy';
import { CacheStats, type CacheTier } from './cache-stats';
import { CacheClock } from './cache-tuning';
import {
  fromResponseJson,
  makeEntry,
  ReplayStream,
  toResponseJson,
  type CachedAnswer,
  type CacheEntry,
} from './cached-entry';
import { CompletionCacheRepository } from './completion-cache.repository';
import { Flight, pump } from './flight';
import { HitRecorder } from './hit-recorder';
import { L1Store } from './l1/l1-store';
import type { RedisFlightLock } from './l1/redis-flight-lock';

export type { CacheRequest, CacheRunResult, CacheSource, ComputeContext, ComputeFn } from './cache-request';

export const FLIGHT_LOCK = Symbol('FLIGHT_LOCK');

const NEVER = new AbortController().signal;
const NO_STORE: ComputeContext = { doNotStore: () => undefined };

/**
 * The completion cache: decides cacheability, looks up L1 then L2, coalesces identical requests
 * in flight (on this replica, and across replicas through a Redis lock), computes, and stores
 * complete answers in both tiers. Cache failures never fail a request: they are misses.
 */
@Injectable()
export class CompletionCache {
  private readonly logger = new Logger('CompletionCache');
  private readonly flights = new Map<string, Flight>();
  /** Every flight until it has fully settled, its stores included. */
  private readonly pending = new Set<Promise<void>>();
  /** Bumped by purge: answers computed before it are not stored after it. */
  private epoch = 0;

  constructor(
    private readonly config: AppConfig,
    private readonly l1: L1Store,
    @Inject(FLIGHT_LOCK) private readonly lock: RedisFlightLock | null,
    private readonly repo: CompletionCacheRepository,
    private readonly hits: HitRecorder,
    private readonly evictor: CacheEvictor,
    private readonly clock: CacheClock,
    private readonly stats: CacheStats,
    flushes: FlushRegistry,
  ) {
    // Rows first, then the hit counts that may refer to them; bounded, like the HTTP drain.
    flushes.register(
      'cache hit counts',
      async () => {
        let timer: NodeJS.Timeout | undefined;
        const limit = new Promise<void>((r) => (timer = setTimeout(r, config.http.shutdownTimeoutMs)));
        await Promise.race([this.drain(), limit]);
        clearTimeout(timer);
        return this.hits.close();
      },
      () => this.hits.dropped,
    );
  }

  async run(req: CacheRequest, compute: ComputeFn, clientSignal?: AbortSignal): Promise<CacheRunResult> {
    const ttl = req.ttlSeconds ?? this.config.cache.ttlSeconds;
    const policy = cachePolicy(this.config.cache.mode, req.params, req.cacheControl, ttl, req.choices);
    if (policy === 'bypass') {
      this.stats.counters.bypass++;
      return { source: 'bypass', events: iteratorOf(compute(clientSignal ?? NEVER, NO_STORE)) };
    }
    const key = keyOf(req);
    if (!key) {
      this.stats.counters.bypass++;
      return { source: 'bypass', events: iteratorOf(compute(clientSignal ?? NEVER, NO_STORE)) };
    }
    if (policy === 'read-write') {
      if (this.l1.active) {
        const now = this.clock.now();
        const got = this.l1.get(req.model, key.id, now);
        const entry = got instanceof Promise ? await got : got;
        this.stats.lookup('l1', entry ? 'hit' : 'miss');
        if (entry) {
          this.hits.record(key.id, now);
          return { source: 'hit', tier: 'l1', events: new ReplayStream(entry.events) };
        }
      }
      const flying = this.flights.get(key.id);
      if (flying?.joinable) {
        this.stats.counters.coalesced++;
        this.hits.record(key.id, this.clock.now());
        return { source: 'hit', coalesced: true, events: flying.attach(clientSignal) };
      }
    }
    // A no-cache request never joins a flight (it asked for a fresh answer) but others may join it.
    const flight = new Flight((f) => this.forget(key.id, f));
    const shared = !this.flights.get(key.id)?.joinable;
    if (shared) this.flights.set(key.id, flight);
    const events = flight.attach(clientSignal);
    const settled = this.fly(flight, key, req, policy, ttl, compute, shared).finally(() =>
      this.pending.delete(settled),
    );
    this.pending.add(settled);
    const r = await flight.decided;
    if (policy === 'write-only') {
      this.stats.counters.bypass++;
      return { source: 'bypass', events };
    }
    return r.source === 'hit' ? { source: 'hit', tier: r.tier, events } : { source: 'miss', events };
  }

  /** Deletes every entry, or one model's, in both tiers; answers the number of rows deleted. */
  async purge(model?: string): Promise<number> {
    this.epoch++;
    const n = await this.repo.purge(model);
    try {
      await this.l1.purge(model);
    } catch (err) {
      throw new ApiError(
        ErrorCode.ServiceUnavailable,
        `deleted ${n} cache entries from PostgreSQL, but Redis could not be purged (${(err as Error).message}); try again`,
        null,
        { 'retry-after': '1' },
      );
    }
    return n;
  }

  /** Waits until every flight under way has settled and stored its answer (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  /** Requests being computed or looked up right now on this replica. */
  get inFlight(): number {
    return this.flights.size;
  }

  private async fly(
    flight: Flight,
    key: CacheKey,
    req: CacheRequest,
    policy: CachePolicy,
    ttl: number,
    compute: ComputeFn,
    shared: boolean,
  ): Promise<void> {
    const epoch = this.epoch;
    let token: string | undefined;
    let stopRenewing: (() => void) | undefined;
    try {
      if (policy === 'read-write') {
        const entry = await this.lookupL2(key, req.model);
        if (entry) return await this.serveHit(flight, key, entry, 'l2', epoch);
      }
      if (flight.abandoned) return;
      if (shared && this.lock?.active) {
        token = randomUUID();
        let mine = await this.lock.tryAcquire(key.id, token);
        if (mine === false && policy === 'read-write') {
          const waited = await this.lock.awaitHolder(req.model, key.id, token, () => this.clock.now(), flight.signal);
          if (waited.kind === 'entry') return await this.serveHit(flight, key, waited.entry, 'l1', -1);
          mine = waited.kind === 'lock';
        }
        if (mine) stopRenewing = this.lock.keepAlive(key.id, token);
        else token = undefined;
      }
      if (flight.abandoned) return;
      flight.decide({ source: 'miss' });
      const result = await pump(flight, compute);
      if (result?.store && !flight.abandoned && epoch === this.epoch) await this.store(key, req, result.answer, ttl);
    } catch (err) {
      // Only a bug gets here (lookups and stores swallow their own failures).
      this.logger.error(`completion cache flight failed: ${(err as Error).message}`);
      flight.finish('failed', err);
    } finally {
      // Abandoned before deciding, or any early return: the flight must not stay open.
      flight.finish('ended');
      this.forget(key.id, flight);
      stopRenewing?.();
      // A token is only ever taken from the lock.
      if (token) await this.lock?.release(key.id, token);
    }
  }

  private async serveHit(
    flight: Flight,
    key: CacheKey,
    entry: CacheEntry,
    tier: CacheTier,
    fillEpoch: number,
  ): Promise<void> {
    this.hits.record(key.id, this.clock.now());
    flight.decide({ source: 'hit', tier });
    for (const e of entry.events) flight.push(e);
    flight.finish('done');
    // An L2 hit fills L1 (unless a purge ran meanwhile); an L1 entry found by polling is there already.
    if (fillEpoch === this.epoch && this.l1.active) await this.l1.set(key.id, entry, this.clock.now());
  }

  private async lookupL2(key: CacheKey, model: string): Promise<CacheEntry | undefined> {
    try {
      const row = await this.repo.find(key.bytes, new Date(this.clock.now()));
      const answer = row && fromResponseJson(row.response);
      this.stats.lookup('l2', answer ? 'hit' : 'miss');
      return answer ? makeEntry(model, answer, row.expiresAt.getTime()) : undefined;
    } catch (err) {
      this.logger.warn(`cache lookup failed (computing instead): ${(err as Error).message}`);
      return undefined;
    }
  }

  /** L1 first (other replicas may be polling it), then the row in PostgreSQL. */
  private async store(key: CacheKey, req: CacheRequest, answer: CachedAnswer, ttl: number): Promise<void> {
    const now = this.clock.now();
    const entry = makeEntry(req.model, answer, now + ttl * 1000);
    if (this.l1.active) await this.l1.set(key.id, entry, now);
    await this.repo
      .upsert({
        key: key.bytes,
        model: req.model,
        version: req.version,
        response: toResponseJson(answer),
        createdAt: new Date(now),
        expiresAt: new Date(entry.expiresAt),
      })
      .then(
        () => {
          this.stats.counters.stored++;
          this.evictor.noteStore();
        },
        (err) => this.logger.warn(`could not store a cache entry: ${(err as Error).message}`),
      );
  }

  private forget(id: string, flight: Flight): void {
    if (this.flights.get(id) === flight) this.flights.delete(id);
  }
}

/** Undefined for input that cannot be fingerprinted (non-finite numbers): served, never cached. */
function keyOf(req: CacheRequest): CacheKey | undefined {
  try {
    return cacheKey(req);
  } catch {
    return undefined;
  }
}

function iteratorOf(source: AsyncIterable<StreamEvent>): AsyncIterableIterator<StreamEvent> {
  const it = source[Symbol.asyncIterator]() as AsyncIterableIterator<StreamEvent>;
  if (typeof it[Symbol.asyncIterator] === 'function') return it;
  return {
    next: () => it.next(),
    return: (v?: unknown) => it.return?.(v) ?? Promise.resolve({ done: true, value: undefined }),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
