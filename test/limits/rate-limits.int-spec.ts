import Redis from 'ioredis';
import { ApiError } from '../../src/common/errors/api-error';
import { MemoryWindowStore } from '../../src/throttling/memory-window.store';
import { RateLimiter } from '../../src/throttling/rate-limiter';
import { RedisWindowStore } from '../../src/throttling/redis-window.store';
import { cleanRedis, OwnRedis, Replica, REDIS_URL, testKey, uniquePrefix, withRedis } from './limits-fixtures';
import { waitFor } from '../helpers/wait-for';

async function refusal(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

describe(RateLimiter.name, () => {
  const prefix = uniquePrefix();
  const replicas: Replica[] = [];
  const replica = async (...args: Parameters<typeof Replica.start>) => {
    const r = await Replica.start(...args);
    replicas.push(r);
    return r;
  };
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await cleanRedis(prefix);
  });

  describe.each([
    ['in-process', false],
    ['Redis', true],
  ])('on %s counters', (_name, useRedis) => {
    const maybe = useRedis ? withRedis : it;
    let now = 1_700_000_000_000; // on a bucket boundary
    const clock = () => now;
    const limiterOf = async () =>
      (await replica(useRedis ? { REDIS_URL: REDIS_URL! } : {}, { limiter: { clock, prefix } })).limiter;

    maybe(
      'does 5 passes then 429 with Retry-After and x-ratelimit-* headers for rpm 5, and serves again after the window',
      async () => {
        const limiter = await limiterOf();
        expect(limiter.mode).toBe(useRedis ? 'redis' : 'local');
        const key = testKey({ rpm: 5 });
        for (let i = 0; i < 5; i++) {
          const { headers } = await limiter.checkRequest(key);
          expect(headers['x-ratelimit-limit-requests']).toBe('5');
          expect(headers['x-ratelimit-remaining-requests']).toBe(String(4 - i));
          now += 1_000;
        }
        const err = await refusal(limiter.checkRequest(key));
        expect(err.status).toBe(429);
        expect(err.code).toBe('rate_limit_exceeded');
        // The first request (t0) leaves the window at t0 + 61 s; it is now t0 + 5 s.
        expect(err.headers['retry-after-ms']).toBe('56000');
        expect(err.headers['retry-after']).toBe('56');
        expect(err.headers['x-ratelimit-remaining-requests']).toBe('0');
        expect(err.headers['x-ratelimit-reset-requests']).toBe('1m0s');
        // user role default TPM applies (100 000): the token trio rides along.
        expect(err.headers['x-ratelimit-limit-tokens']).toBe('100000');
        now += 55_999;
        await expect(limiter.checkRequest(key)).rejects.toThrow(ApiError);
        now += 1;
        const again = await limiter.checkRequest(key);
        expect(again.headers['x-ratelimit-remaining-requests']).toBe('0');
      },
    );

    maybe(
      'does refuse a key with a small tpm once its tokens in the window are used, and give back unused tokens',
      async () => {
        const limiter = await limiterOf();
        const key = testKey({ tpm: 100, rpm: null });
        const first = await limiter.reserveTokens(key, 60);
        expect(first.headers['x-ratelimit-remaining-tokens']).toBe('40');
        expect(first.headers['x-ratelimit-limit-requests']).toBe('60');
        const over = await refusal(limiter.reserveTokens(key, 50));
        expect(over.status).toBe(429);
        expect(over.message).toMatch(/100 tokens per minute.*needs 50, 40 remain/);
        expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        await limiter.settleTokens(first, 20);
        await limiter.settleTokens(first, 0); // idempotent: no second refund
        const second = await limiter.reserveTokens(key, 50);
        expect(second.headers['x-ratelimit-remaining-tokens']).toBe('30');
        const huge = await refusal(limiter.reserveTokens(key, 101));
        expect(huge.message).toMatch(/more than this API key's limit of 100 tokens/);
      },
    );
  });

  it('does use role defaults, per-key overrides and no headers when unlimited', async () => {
    const { limiter } = await replica({
      RATE_LIMIT_RPM_ADMIN: 'unlimited',
      RATE_LIMIT_TPM_ADMIN: 'unlimited',
      RATE_LIMIT_RPM_USER: '2',
    });
    expect(await limiter.checkRequest(testKey({ role: 'admin' }))).toEqual({ headers: {} });
    expect(limiter.limitsFor(testKey({ role: 'user' }))).toEqual({ rpm: 2, tpm: 100_000 });
    expect(limiter.limitsFor(testKey({ role: 'admin', rpm: 7 }))).toEqual({ rpm: 7, tpm: null });
    const r = await limiter.reserveTokens(testKey({ role: 'admin' }), 1e9);
    expect(r.headers).toEqual({});
    const zero = testKey({ rpm: 0 });
    expect((await refusal(limiter.checkRequest(zero))).status).toBe(429);
  });

  withRedis('does enforce one combined limit from two replicas sharing Redis (on Redis time)', async () => {
    const [a, b] = await Promise.all([
      replica({ REDIS_URL: REDIS_URL! }, { limiter: { prefix } }),
      replica({ REDIS_URL: REDIS_URL! }, { limiter: { prefix } }),
    ]);
    const key = testKey({ rpm: 10 });
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).limiter.checkRequest(key)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(20);
    expect(refused.every((r) => (r.reason as ApiError).code === 'rate_limit_exceeded')).toBe(true);
  });

  withRedis('does make the same decisions in Lua as in-process (parity on random traffic)', async () => {
    const client = new Redis(REDIS_URL!);
    try {
      const geometry = { bucketMs: 50, buckets: 20 };
      const shared = new RedisWindowStore(client, geometry);
      const local = new MemoryWindowStore(geometry);
      const ids = [`${prefix}parity:r`, `${prefix}parity:t`];
      let seed = 7;
      const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
      let now = 1_700_000_000_000;
      for (let i = 0; i < 300; i++) {
        now += Math.floor(rand() * 60);
        const checks = [
          { limit: 8, cost: rand() < 0.2 ? 0 : 1 },
          { limit: 200, cost: Math.floor(rand() * 40) },
        ];
        const [x, y] = [await shared.consume(ids, checks, now), local.consume(ids, checks, now)];
        expect(x).toEqual(y);
        if (x.allowed && rand() < 0.3) {
          const delta = -Math.floor(rand() * checks[1].cost);
          await shared.adjust(ids[1], x.bucket, delta, now);
          local.adjust(ids[1], x.bucket, delta, now);
        }
      }
    } finally {
      client.disconnect();
    }
  });

  withRedis(
    'does keep limiting on local counters while Redis is down, and go back to Redis when it returns',
    async () => {
      const own = await OwnRedis.start();
      try {
        const r = await replica({ REDIS_URL: own.url }, { limiter: { prefix } });
        const key = testKey({ rpm: 3 });
        const limits = async () => (await r.readiness.checks.get('limits')!()).mode;
        for (let i = 0; i < 3; i++) await r.limiter.checkRequest(key);
        await expect(r.limiter.checkRequest(key)).rejects.toThrow(ApiError);
        expect(await limits()).toBe('redis');

        await own.kill();
        await waitFor('local mode', () => r.limiter.mode === 'local', { timeoutMs: 5000 });
        expect(await limits()).toBe('local');
        for (let i = 0; i < 3; i++) await r.limiter.checkRequest(key); // served: fresh local counters
        await expect(r.limiter.checkRequest(key)).rejects.toThrow(/3 requests per minute/); // and still limited

        await own.resume(); // a Redis that lost its data (no persistence)
        await waitFor('Redis mode', () => r.limiter.mode === 'redis', { timeoutMs: 5000 });
        // The 3 requests counted locally during the outage were carried into Redis.
        await expect(r.limiter.checkRequest(key)).rejects.toThrow(/3 requests per minute/);
        const probe = new Redis(own.url);
        expect(
          Object.values(await probe.hgetall(`${prefix}rl:{${key.id}}:req`)).reduce((n, v) => n + Number(v), 0),
        ).toBe(3);
        probe.disconnect();
      } finally {
        await own.stop();
      }
    },
  );
});
