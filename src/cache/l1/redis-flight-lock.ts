import type { ConfiguredRedis } from '../../redis/redis.service';
import type { CacheEntry } from '../cached-entry';
import type { CacheTuning } from '../cache-tuning';
import type { RedisL1Store } from './redis-l1.store';

/** The holder's answer appeared, the lock became ours, or waiting stopped (error, timeout, nobody left). */
export type AwaitOutcome = { kind: 'entry'; entry: CacheEntry } | { kind: 'lock' } | { kind: 'gave-up' };

// One round trip per poll: the answer if it is there, else the lock if it is free.
const POLL = `
local v = redis.call('GET', KEYS[1])
if v then return {1, v} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2, ''} end
return {0, ''}`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

/**
 * Single flight across replicas: the first replica to miss takes a short lock (renewed while it
 * computes); the others poll for its answer in L1, and take over if the lock is released or
 * expires without one (holder failed, was cancelled, or crashed).
 */
export class RedisFlightLock {
  constructor(
    private readonly redis: ConfiguredRedis,
    private readonly store: RedisL1Store,
    private readonly tuning: CacheTuning,
  ) {}

  get active(): boolean {
    return this.redis.available;
  }

  private lockKey(id: string): string {
    return `${this.tuning.redisPrefix}l:${id}`;
  }

  /** True = ours; false = another replica computes; undefined = Redis unusable (compute without a lock). */
  async tryAcquire(id: string, token: string): Promise<boolean | undefined> {
    try {
      return (await this.redis.client.set(this.lockKey(id), token, 'PX', this.tuning.lockTtlMs, 'NX')) === 'OK';
    } catch (err) {
      this.store.warn('lock', err);
      return undefined;
    }
  }

  async awaitHolder(
    model: string,
    id: string,
    token: string,
    now: () => number,
    signal: AbortSignal,
  ): Promise<AwaitOutcome> {
    const started = Date.now();
    let delay = this.tuning.pollMinMs;
    while (!signal.aborted && Date.now() - started < this.tuning.remoteWaitMaxMs) {
      await sleep(delay, signal);
      if (signal.aborted) break;
      delay = Math.min(this.tuning.pollMaxMs, Math.ceil(delay * 1.5));
      try {
        const [kind, raw] = (await this.redis.client.eval(
          POLL,
          2,
          this.store.entryKey(model, id),
          this.lockKey(id),
          token,
          this.tuning.lockTtlMs,
        )) as [number, string];
        if (kind === 2) return { kind: 'lock' };
        if (kind === 1) {
          const entry = this.store.decode(model, raw, now());
          return entry ? { kind: 'entry', entry } : { kind: 'gave-up' };
        }
      } catch (err) {
        this.store.warn('lock poll', err);
        return { kind: 'gave-up' };
      }
    }
    return { kind: 'gave-up' };
  }

  /** Keeps the lock while the computation runs; returns the stop function. */
  keepAlive(id: string, token: string): () => void {
    const every = Math.max(50, Math.floor(this.tuning.lockTtlMs / 3));
    const timer = setInterval(() => {
      this.redis.client.eval(RENEW, 1, this.lockKey(id), token, this.tuning.lockTtlMs).catch(() => undefined);
    }, every);
    timer.unref();
    return () => clearInterval(timer);
  }

  async release(id: string, token: string): Promise<void> {
    try {
      await this.redis.client.eval(RELEASE, 1, this.lockKey(id), token);
    } catch {
      // It expires by itself within lockTtlMs.
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
