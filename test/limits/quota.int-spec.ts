import Redis from 'ioredis';
import type { AuthenticatedKey } from '../../src/api-keys/authenticated-key';
import { ApiError } from '../../src/common/errors/api-error';
import { QuotaService, withMargin } from '../../src/quota/quota.service';
import { queryDb } from '../helpers/test-database';
import {
  cleanRedis,
  insertKeys,
  migratedDatabase,
  OwnRedis,
  Replica,
  REDIS_URL,
  testKey,
  uniquePrefix,
  withRedis,
} from './limits-fixtures';
import { waitFor } from '../helpers/wait-for';

const ledgerRow = async (dbUrl: string, keyId: string) =>
  (
    await queryDb<{ used: number; reserved: number }>(
      dbUrl,
      `SELECT used_tokens::int AS used, reserved_tokens::int AS reserved FROM quota_usage WHERE key_id = $1`,
      [keyId],
    )
  )[0];

describe(QuotaService.name, () => {
  const prefix = uniquePrefix();
  let db: { url: string; drop(): Promise<void> };
  const replicas: Replica[] = [];
  const replica = async (env: Record<string, string>, opts: Parameters<typeof Replica.start>[1] = {}) => {
    const r = await Replica.start(env, { dbUrl: db.url, ...opts, quota: { prefix, ...opts.quota } });
    replicas.push(r);
    return r;
  };
  const newKey = async (over: Partial<AuthenticatedKey>) => {
    const k = testKey(over);
    await insertKeys(db.url, [k]);
    return k;
  };
  beforeAll(async () => {
    db = await migratedDatabase();
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await db.drop();
    await cleanRedis(prefix);
  });

  it('does clamp max_tokens to what is left, then refuse with 402, the reset time and x-quota-reset', async () => {
    const { quota } = await replica({ QUOTA_PERIOD: 'monthly' });
    const key = await newKey({ quotaTokens: 100 });
    const full = await quota.reserve(key, 30, 50);
    expect([full.maxTokens, full.clamped, full.remainingTokens]).toEqual([50, false, 20]);
    const clamped = await quota.reserve(key, 10, 50);
    expect([clamped.maxTokens, clamped.clamped, clamped.remainingTokens]).toEqual([10, true, 0]);
    const err = (await quota.reserve(key, 1, 1).catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect([err.status, err.code]).toEqual([402, 'quota_exhausted']);
    const reset = quota.currentPeriod().end.toISOString();
    expect(err.headers['x-quota-reset']).toBe(reset);
    expect(err.message).toContain(reset);
    await quota.release(full); // failed before any token: all 80 back
    await quota.settle(clamped, { promptTokens: 10, completionTokens: 4 }); // cancelled after 4 tokens
    await quota.settle(clamped, { promptTokens: 10, completionTokens: 10 }); // idempotent
    expect(await quota.snapshot(key)).toMatchObject({
      usedTokens: 14,
      reservedTokens: 0,
      remainingTokens: 86,
      quotaTokens: 100,
    });
    await quota.flush();
    expect(await ledgerRow(db.url, key.id)).toEqual({ used: 14, reserved: 0 });
  });

  describe.each([
    ['in-process', {}, 'local'],
    ['Redis', { REDIS_URL: REDIS_URL ?? '' }, 'redis'],
    ['PostgreSQL (Redis down)', { REDIS_URL: 'redis://127.0.0.1:1' }, 'postgres'],
  ] as const)('on the %s ledger', (_name, env, mode) => {
    (mode === 'redis' ? withRedis : it)(
      'does charge every token an upstream reports, past the reservation, in one step',
      async () => {
        const { quota } = await replica(env, { redisDown: mode === 'postgres' });
        expect(quota.mode).toBe(mode);
        const key = await newKey({ quotaTokens: 50 });
        const r = await quota.reserve(key, 10, 5);
        await quota.settle(r, { promptTokens: 12, completionTokens: 9 }); // an upstream counted more than we did
        expect(await quota.snapshot(key)).toMatchObject({ usedTokens: 21, reservedTokens: 0 });
        const big = await quota.reserve(key, 1, 1);
        await quota.settle(big, { promptTokens: 27_000, completionTokens: 400 });
        expect(await quota.snapshot(key)).toMatchObject({ usedTokens: 27_421, reservedTokens: 0, remainingTokens: 0 });
        const err = (await quota.reserve(key, 1, 1).catch((e: unknown) => e)) as ApiError;
        expect(err.code).toBe('quota_exhausted'); // at or over its quota: 402
        await quota.flush();
        expect(await ledgerRow(db.url, key.id)).toEqual({ used: 27_421, reserved: 0 });
      },
    );
  });

  it('does hold QUOTA_REMOTE_MARGIN more for an estimated prompt, and treats null quotas as role defaults or unlimited', async () => {
    const { quota } = await replica({
      QUOTA_TOKENS_USER: '1000',
      QUOTA_TOKENS_ADMIN: 'unlimited',
      QUOTA_REMOTE_MARGIN: '0.2',
    });
    const user = await newKey({});
    const exact = await quota.reserve(user, 10, 5);
    const estimated = await quota.reserve(user, 10, 5, { estimated: true });
    expect([exact.reservedTokens, estimated.reservedTokens]).toEqual([15, 17]);
    expect(await quota.snapshot(user)).toMatchObject({ quotaTokens: 1000, reservedTokens: 32 });
    expect(withMargin(10, 0.2)).toBe(12);
    expect(withMargin(7, 0.25)).toBe(9);
    const admin = await newKey({ role: 'admin' });
    const big = await quota.reserve(admin, 1e6, 1e6);
    expect([big.maxTokens, big.remainingTokens, big.quotaTokens]).toEqual([1e6, null, null]);
  });

  it.each([
    ['false', 0],
    ['true', 25],
  ])('does charge cache hits only when CACHE_HITS_COUNT_TOKENS=%s', async (flag, expected) => {
    const { quota } = await replica({ CACHE_HITS_COUNT_TOKENS: flag });
    const key = await newKey({ quotaTokens: 100 });
    await quota.settleCacheHit(await quota.reserve(key, 10, 50), { promptTokens: 10, completionTokens: 15 });
    expect(await quota.snapshot(key)).toMatchObject({ usedTokens: expected, reservedTokens: 0 });
  });

  describe.each([
    ['in-process ledger', false],
    ['Redis ledger', true],
  ])('period rollover on the %s', (_name, useRedis) => {
    (useRedis ? withRedis : it)('does reset usage at the period boundary (UTC midnight, daily)', async () => {
      let now = Date.parse('2026-03-09T23:59:59.000Z');
      const { quota } = await replica(
        { QUOTA_PERIOD: 'daily', ...(useRedis ? { REDIS_URL: REDIS_URL! } : {}) },
        { quota: { clock: () => now } },
      );
      const key = await newKey({ quotaTokens: 100 });
      await quota.settle(await quota.reserve(key, 50, 50), { promptTokens: 50, completionTokens: 50 });
      const err = (await quota.reserve(key, 1, 1).catch((e: unknown) => e)) as ApiError;
      expect(err.headers['x-quota-reset']).toBe('2026-03-10T00:00:00.000Z');
      now = Date.parse('2026-03-10T00:00:00.000Z');
      const next = await quota.reserve(key, 50, 50);
      expect(next.periodStart.toISOString()).toBe('2026-03-10T00:00:00.000Z');
      expect(next.remainingTokens).toBe(0);
      await quota.flush();
      const rows = await queryDb(
        db.url,
        `SELECT period_start, used_tokens::int AS used FROM quota_usage WHERE key_id = $1 ORDER BY 1`,
        [key.id],
      );
      expect(rows.map((x) => x.used)).toEqual([100]);
      expect(await quota.snapshot(key)).toMatchObject({ usedTokens: 0, reservedTokens: 100 });
    });
  });

  it('does seed the in-process ledger from PostgreSQL, so a restart does not reset usage', async () => {
    const first = await replica({});
    const key = await newKey({ quotaTokens: 100 });
    await first.quota.settle(await first.quota.reserve(key, 40, 30), { promptTokens: 40, completionTokens: 30 });
    expect(await ledgerRow(db.url, key.id)).toBeUndefined(); // nothing written before shutdown
    await first.stop(); // the one shutdown flush, through FlushRegistry
    expect(await ledgerRow(db.url, key.id)).toEqual({ used: 70, reserved: 0 });
    const second = await replica({});
    const r = await second.quota.reserve(key, 20, 50);
    expect(r.maxTokens).toBe(10);
  });

  withRedis('does seed a missing Redis entry from PostgreSQL plus what this replica has not written yet', async () => {
    const { quota } = await replica({ REDIS_URL: REDIS_URL! });
    const key = await newKey({ quotaTokens: 1000 });
    await quota.settle(await quota.reserve(key, 100, 100), { promptTokens: 100, completionTokens: 100 });
    await quota.flush();
    await quota.settle(await quota.reserve(key, 50, 50), { promptTokens: 50, completionTokens: 0 }); // pending, not flushed
    expect(await ledgerRow(db.url, key.id)).toEqual({ used: 200, reserved: 0 }); // the 50 wait in memory
    const client = new Redis(REDIS_URL!);
    await client.del(`${prefix}quota:{${key.id}}:${quota.currentPeriod().start.getTime()}`); // Redis lost it
    const r = await quota.reserve(key, 10, 1000);
    expect(r.maxTokens).toBe(1000 - 250 - 10);
    client.disconnect();
  });

  withRedis(
    'does move state between Redis and PostgreSQL when Redis goes away and comes back, losing nothing',
    async () => {
      const own = await OwnRedis.start({ persist: true });
      try {
        const [a, b] = [await replica({ REDIS_URL: own.url }), await replica({ REDIS_URL: own.url })];
        const key = await newKey({ quotaTokens: 1000 });
        const r1 = await a.quota.reserve(key, 100, 100);
        const r2 = await b.quota.reserve(key, 50, 50);
        expect([r1.store, r2.store]).toEqual(['redis', 'redis']);

        await own.kill();
        await waitFor('PostgreSQL mode', () => a.quota.mode === 'postgres' && b.quota.mode === 'postgres', {
          timeoutMs: 5000,
        });
        await a.quota.release(r1); // r1 fails during the outage, before its first token
        await waitFor('in-flight reservations in PostgreSQL', () => ledgerRow(db.url, key.id), {
          until: (row) => row?.reserved === 100,
          timeoutMs: 2000,
        });
        const r3 = await b.quota.reserve(key, 10, 2000); // exact across replicas on the PostgreSQL path
        expect([r3.store, r3.maxTokens]).toEqual(['postgres', 1000 - 100 - 10]);
        expect(await ledgerRow(db.url, key.id)).toEqual({ used: 0, reserved: 1000 });

        await own.resume(); // with its data: r1 and r2 still reserved there
        await waitFor('Redis mode', () => a.quota.mode === 'redis' && b.quota.mode === 'redis', { timeoutMs: 5000 });
        await b.quota.settle(r2, { promptTokens: 50, completionTokens: 10 });
        await b.quota.settle(r3, { promptTokens: 10, completionTokens: 100 });
        await Promise.all([a.quota.flush(), b.quota.flush()]);
        const probe = new Redis(own.url);
        const hash = await probe.hgetall(`${prefix}quota:{${key.id}}:${a.quota.currentPeriod().start.getTime()}`);
        probe.disconnect();
        expect({ used: Number(hash.used), reserved: Number(hash.reserved) }).toEqual({ used: 170, reserved: 0 });
        expect(await ledgerRow(db.url, key.id)).toEqual({ used: 170, reserved: 0 });
      } finally {
        await own.stop();
      }
    },
  );
});
