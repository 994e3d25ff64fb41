import Redis from 'ioredis';
import { ApiError } from '../../src/common/errors/api-error';
import { OwnRedis, Replica, testKey, uniquePrefix } from '../limits/limits-fixtures';
import { waitFor } from '../helpers/wait-for';

const sum = (h: Record<string, string>) => Object.values(h).reduce((a, v) => a + Number(v), 0);

/**
 * Counts made on in-process counters while Redis is down are carried into Redis when it returns,
 * so an outage never hands a key a fresh window (docs/limits.md). A redis-server of the test's
 * own is killed and restarted; the shared one is never touched.
 */
describe('rate limits across a Redis outage', () => {
  let own: OwnRedis;
  let probe: Redis;
  const replicas: Replica[] = [];
  beforeAll(async () => {
    own = await OwnRedis.start({ persist: true });
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    probe?.disconnect();
    await own.stop();
  });

  it('does carry the outage’s requests and token settlements into Redis, for every replica', async () => {
    const prefix = uniquePrefix();
    const [a, b] = await Promise.all([
      Replica.start({ REDIS_URL: own.url }, { limiter: { prefix } }),
      Replica.start({ REDIS_URL: own.url }, { limiter: { prefix } }),
    ]);
    replicas.push(a, b);
    const key = testKey({ rpm: 4, tpm: 1000 });
    await a.limiter.checkRequest(key);
    await a.limiter.checkRequest(key);

    await own.kill();
    await waitFor('local mode', () => a.limiter.mode === 'local' && b.limiter.mode === 'local', { timeoutMs: 5000 });
    await a.limiter.checkRequest(key); // counted on A's own counters
    const reservation = await a.limiter.reserveTokens(key, 600);
    expect(reservation.slot?.store).toBe('local');

    await own.resume(); // Redis kept its data: the 2 requests made before the outage
    await waitFor('Redis mode', () => a.limiter.mode === 'redis' && b.limiter.mode === 'redis', { timeoutMs: 5000 });
    await a.limiter.carryIntoRedis();

    probe = new Redis(own.url);
    expect(sum(await probe.hgetall(`${prefix}rl:{${key.id}}:req`))).toBe(3);
    expect(sum(await probe.hgetall(`${prefix}rl:{${key.id}}:tok`))).toBe(600);

    // The local reservation is settled where its count now lives.
    await a.limiter.settleTokens(reservation, 100);
    expect(sum(await probe.hgetall(`${prefix}rl:{${key.id}}:tok`))).toBe(100);

    // One request of the 4 is left in the window, whichever replica serves it.
    await b.limiter.checkRequest(key);
    await expect(b.limiter.checkRequest(key)).rejects.toThrow(ApiError);
    await expect(a.limiter.checkRequest(key)).rejects.toThrow(/4 requests per minute/);
  });
});
