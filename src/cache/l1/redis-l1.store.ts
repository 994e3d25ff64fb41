import { Logger } from '@nestjs/common';
import type { ConfiguredRedis } from '../../redis/redis.service';
import { fromResponseJson, makeEntry, toResponseJson, type CacheEntry, type ResponseJson } from '../cached-entry';
import type { CacheTuning } from '../cache-tuning';
import { L1Store } from './l1-store';

/** The Redis value: the response plus its absolute expiry (the cache's clock decides, not only Redis' TTL). */
type RedisValue = ResponseJson & { x: number };

/**
 * Redis L1, shared by replicas. Keys: `<prefix>e:<base64url(model)>:<sha256 hex>`, so one model's
 * entries can be found by pattern; values carry their expiry; Redis' own TTL frees the memory.
 */
export class RedisL1Store extends L1Store {
  readonly kind = 'redis' as const;
  private readonly logger = new Logger('CompletionCache');
  private readonly modelTags = new Map<string, string>();
  private lastWarn = 0;

  constructor(
    readonly redis: ConfiguredRedis,
    private readonly tuning: CacheTuning,
  ) {
    super();
  }

  get active(): boolean {
    return this.redis.available;
  }

  entryKey(model: string, id: string): string {
    let tag = this.modelTags.get(model);
    if (tag === undefined) {
      tag = Buffer.from(model).toString('base64url');
      if (this.modelTags.size > 1_000) this.modelTags.clear();
      this.modelTags.set(model, tag);
    }
    return `${this.tuning.redisPrefix}e:${tag}:${id}`;
  }

  async get(model: string, id: string, now: number): Promise<CacheEntry | undefined> {
    try {
      const raw = await this.redis.client.get(this.entryKey(model, id));
      return raw === null ? undefined : this.decode(model, raw, now);
    } catch (err) {
      this.warn('read', err);
      return undefined;
    }
  }

  async set(id: string, entry: CacheEntry, now: number): Promise<void> {
    const ttl = entry.expiresAt - now;
    if (ttl <= 0 || !this.active) return;
    try {
      await this.redis.client.set(this.entryKey(entry.model, id), this.encode(entry), 'PX', Math.ceil(ttl));
    } catch (err) {
      this.warn('write', err);
    }
  }

  encode(e: CacheEntry): string {
    const v: RedisValue = { ...toResponseJson(e), x: e.expiresAt };
    return JSON.stringify(v);
  }

  decode(model: string, raw: string, now: number): CacheEntry | undefined {
    try {
      const v = JSON.parse(raw) as RedisValue;
      const answer = fromResponseJson(v);
      if (!answer || !(v.x > now)) return undefined;
      return makeEntry(model, answer, v.x);
    } catch {
      return undefined;
    }
  }

  /** SCAN + UNLINK by pattern: admin-only and rare, so walking the keyspace is acceptable. */
  async purge(model?: string): Promise<void> {
    const client = this.redis.client;
    const glob = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
    const pattern = model === undefined ? `${glob(this.tuning.redisPrefix)}e:*` : `${glob(this.entryKey(model, ''))}*`;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length) await client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  }

  /** One warning per 10 s at most: a Redis outage must not flood the log. */
  warn(what: string, err: unknown): void {
    const now = Date.now();
    if (now - this.lastWarn < 10_000) return;
    this.lastWarn = now;
    this.logger.warn(`Redis cache ${what} failed (serving from PostgreSQL): ${(err as Error).message}`);
  }
}
