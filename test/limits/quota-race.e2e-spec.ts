import type { AuthenticatedKey } from '../../src/api-keys/authenticated-key';
import { QuotaService } from '../../src/quota/quota.service';
import { call, startTestApp, type TestApp } from '../helpers/test-app';
import { queryDb } from '../helpers/test-database';
import { cleanRedis, raceCycles, REDIS_URL } from './limits-fixtures';

const QUOTA = 1000;

/** Boots `n` app instances on one database (and one Redis, when given), like replicas. */
async function replicas(n: number, env: Record<string, string>): Promise<TestApp[]> {
  const first = await startTestApp({ QUOTA_FLUSH_MS: '60000', ...env });
  const rest = await Promise.all(
    Array.from({ length: n - 1 }, () => startTestApp({ QUOTA_FLUSH_MS: '60000', ...env }, first.dbUrl)),
  );
  return [first, ...rest];
}

describe('quota invariant under concurrent requests', () => {
  const cases: [string, number, Record<string, string> | null, string][] = [
    ['two replicas sharing Redis and PostgreSQL', 2, REDIS_URL ? { REDIS_URL } : null, 'redis'],
    ['one replica without Redis', 1, {}, 'local'],
    ['two replicas with Redis down (PostgreSQL-atomic path)', 2, { REDIS_URL: 'redis://127.0.0.1:1' }, 'postgres'],
  ];

  describe.each(cases)('%s', (_name, n, env, mode) => {
    let apps: TestApp[] = [];
    let keyId: string | undefined;
    afterAll(async () => {
      // The app uses the production prefix; its keys are this test's own key id.
      if (keyId && env?.REDIS_URL === REDIS_URL) await cleanRedis(`llm:quota:{${keyId}}`);
      for (const a of apps.slice(1)) await a.close({ keepDatabase: true });
      await apps[0]?.close();
    });

    (env ? it : it.skip)(
      'does never count past the quota, records every settled token, and serves the key while quota remains',
      async () => {
        apps = await replicas(n, env!);
        const services = apps.map((a) => a.running.app.get(QuotaService));
        expect(services.map((s) => s.mode)).toEqual(Array(n).fill(mode));
        const created = await call(apps[0].baseUrl, 'POST', '/admin/keys', {
          key: apps[0].adminKey,
          body: { label: 'race', quota_tokens: QUOTA },
        });
        const b = created.body;
        keyId = b.id;
        const key: AuthenticatedKey = {
          id: b.id,
          label: b.label,
          role: b.role,
          quotaTokens: b.quota_tokens,
          rpm: null,
          tpm: null,
          allowedModels: null,
        };

        const race = await raceCycles(services, key, 50);
        expect(race.counted).toBeLessThanOrEqual(QUOTA);
        expect(race.served).toBeGreaterThan(0);
        expect(race.refused).toBeGreaterThan(0); // the cycles really contended

        // Drain what is left one request at a time: served until less than prompt + 1 token remains.
        let counted = race.counted;
        for (;;) {
          const r = await services[0].reserve(key, 10, 40).catch(() => undefined);
          if (!r) break;
          await services[0].settle(r, { promptTokens: 10, completionTokens: r.maxTokens });
          counted += 10 + r.maxTokens;
        }
        expect(counted).toBeLessThanOrEqual(QUOTA);
        expect(QUOTA - counted).toBeLessThan(11);

        await Promise.all(services.map((s) => s.flush()));
        const [row] = await queryDb<{ used: number; reserved: number }>(
          apps[0].dbUrl,
          `SELECT sum(used_tokens)::int AS used, sum(reserved_tokens)::int AS reserved FROM quota_usage WHERE key_id = $1`,
          [key.id],
        );
        expect(row).toEqual({ used: counted, reserved: 0 });
        for (const s of services)
          expect(await s.snapshot(key)).toMatchObject({ usedTokens: counted, reservedTokens: 0 });
      },
    );
  });
});
