import { randomBytes } from 'node:crypto';
import { RedisL1Store } from '../../src/cache/l1/redis-l1.store';
import { queryDb } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';
import {
  bootCache,
  clearPrefix,
  drain,
  itRedis,
  redisUrl,
  request,
  scripted,
  textOf,
  uniqueModel,
  type CacheHarness,
} from './cache-fixtures';

/** Two replicas sharing PostgreSQL and Redis: Redis is L1 and carries the cross-replica single flight. */
describe(RedisL1Store.name, () => {
  const prefix = `test:cache:${randomBytes(6).toString('hex')}:`;
  let a: CacheHarness;
  let b: CacheHarness;
  beforeAll(async () => {
    if (!redisUrl) return;
    a = await bootCache({ REDIS_URL: redisUrl }, undefined, prefix);
    b = await bootCache({ REDIS_URL: redisUrl }, a.t.dbUrl, prefix);
    await waitFor('both replicas to reach Redis', () => a.redis.available && b.redis.available, { timeoutMs: 3_000 });
  });
  afterAll(async () => {
    if (!redisUrl) return;
    await clearPrefix(a.redis, prefix);
    await b.t.close({ keepDatabase: true });
    await a.t.close();
  });

  itRedis('shares entries between replicas through Redis (L1) with a TTL', async () => {
    const req = request({ model: uniqueModel(), ttlSeconds: 30 });
    const compute = scripted({ text: 'shared' });
    const first = await a.cache.run(req, compute.fn);
    await drain(first.events);
    await a.cache.drain();
    const other = await b.cache.run(req, compute.fn);
    expect(other).toMatchObject({ source: 'hit', tier: 'l1' });
    expect(textOf(await drain(other.events))).toBe('shared');
    expect(compute.calls).toBe(1);
    const keys = await a.redis.client!.keys(`${prefix}e:*`);
    expect(keys).toHaveLength(1);
    const ttl = await a.redis.client!.pttl(keys[0]);
    expect(ttl).toBeGreaterThan(25_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
  });

  itRedis('computes identical concurrent requests on two replicas once', async () => {
    const req = request({ model: uniqueModel() });
    const compute = scripted({ text: 'computed once, fleet-wide', chunks: 4, delayMs: 40 });
    const runs = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? b : a).cache.run(req, compute.fn)));
    const texts = await Promise.all(runs.map(async (r) => textOf(await drain(r.events))));
    expect(compute.calls).toBe(1);
    expect(new Set(texts)).toEqual(new Set(['computed once, fleet-wide']));
    expect(runs.filter((r) => r.source === 'miss')).toHaveLength(1);
  });

  itRedis("takes over on another replica when the lock holder's computation fails", async () => {
    const req = request({ model: uniqueModel() });
    const failing = scripted({ chunks: 3, delayMs: 30, failAfter: 1 });
    const ok = scripted({ text: 'second replica did it' });
    const holder = await a.cache.run(req, failing.fn);
    await waitFor('the lock holder to start computing', () => failing.calls === 1);
    const waiterRun = b.cache.run(req, ok.fn);
    await expect(drain(holder.events)).rejects.toThrow('upstream broke');
    const waiter = await waiterRun;
    expect(waiter.source).toBe('miss');
    expect(textOf(await drain(waiter.events))).toBe('second replica did it');
    expect([failing.calls, ok.calls]).toEqual([1, 1]);
  });

  itRedis('purges one model from Redis and PostgreSQL, leaving the others', async () => {
    const gone = uniqueModel();
    const kept = uniqueModel();
    for (const model of [gone, kept]) await drain((await a.cache.run(request({ model }), scripted().fn)).events);
    await a.cache.drain();
    expect(await b.cache.purge(gone)).toBe(1);
    const compute = scripted();
    const r1 = await a.cache.run(request({ model: gone }), compute.fn);
    const r2 = await a.cache.run(request({ model: kept }), compute.fn);
    await Promise.all([drain(r1.events), drain(r2.events)]);
    expect([r1.source, r2.source]).toEqual(['miss', 'hit']);
    expect(r2.tier).toBe('l1');
  });
});

describe(`${RedisL1Store.name} down`, () => {
  let h: CacheHarness;
  beforeAll(async () => {
    // A port nothing listens on: Redis is configured but never available.
    h = await bootCache({ REDIS_URL: 'redis://127.0.0.1:1' });
  });
  afterAll(() => h.t.close());

  it('serves hits from PostgreSQL without errors and still coalesces on the replica', async () => {
    expect(h.redis.available).toBe(false);
    const req = request({ model: uniqueModel() });
    const compute = scripted({ text: 'from postgres', chunks: 3, delayMs: 10 });
    const runs = await Promise.all([1, 2, 3].map(() => h.cache.run(req, compute.fn)));
    await Promise.all(runs.map((r) => drain(r.events)));
    await h.cache.drain();
    const hit = await h.cache.run(req, compute.fn);
    expect(hit).toMatchObject({ source: 'hit', tier: 'l2' });
    expect(textOf(await drain(hit.events))).toBe('from postgres');
    expect(compute.calls).toBe(1);
    expect(h.stats.counters.l1).toEqual({ hit: 0, miss: 0 });
  });

  it('refuses to report a purge as complete while Redis cannot be purged (503, rows deleted)', async () => {
    const model = uniqueModel();
    await drain((await h.cache.run(request({ model }), scripted().fn)).events);
    await h.cache.drain();
    await expect(h.cache.purge(model)).rejects.toMatchObject({ code: 'service_unavailable' });
    expect(await queryDb(h.t.dbUrl, 'SELECT 1 FROM completion_cache WHERE model = $1', [model])).toHaveLength(0);
  });
});
