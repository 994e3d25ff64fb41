import { tinyModelDir, writeModelsYaml } from '../helpers/model-fixtures';
import { call, startTestApp, type TestApp } from '../helpers/test-app';
import { queryDb } from '../helpers/test-database';
import { FlushRegistry } from '../../src/common/lifecycle/flush.registry';

const redisUrl = process.env.REDIS_URL;

async function modelsYaml(): Promise<string> {
  const dir = await tinyModelDir();
  return writeModelsYaml(`default_model: tiny\nmodels:\n  - id: tiny\n    provider: onnx\n    path: ${dir}\n`);
}

describe('rate limits and quotas through /v1/generate', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MODELS_CONFIG: await modelsYaml() });
  });
  afterAll(() => t.close());

  const newKey = async (body: object) =>
    (await call(t.baseUrl, 'POST', '/admin/keys', { key: t.adminKey, body: { label: 'k', ...body } })).body.key;
  const gen = (key: string, body: object = {}) =>
    call(t.baseUrl, 'POST', '/v1/generate', { key, body: { prompt: 'hi', max_tokens: 2, temperature: 0.8, ...body } });

  it('gives a key with rpm 5 five answers, then 429 with Retry-After and x-ratelimit headers', async () => {
    const key = await newKey({ rpm: 5 });
    for (let i = 0; i < 5; i++) {
      const r = await gen(key);
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ratelimit-limit-requests')).toBe('5');
      expect(r.headers.get('x-ratelimit-remaining-requests')).toBe(String(4 - i));
      expect(r.headers.get('x-ratelimit-reset-requests')).toMatch(/^[0-9.]+m?s|^\d+m\d+(\.\d+)?s$/);
    }
    const refused = await gen(key);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limit_exceeded');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after-ms'))).toBeGreaterThan(0);
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
  });

  it('refuses a key with a small tpm once its tokens in the window are used, with the -tokens headers', async () => {
    const key = await newKey({ tpm: 30 });
    const first = await gen(key, { prompt: 'abcdefghij', max_tokens: 5 });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit-tokens')).toBe('30');
    let refused;
    for (let i = 0; i < 5 && !refused; i++) {
      const r = await gen(key, { prompt: 'abcdefghij', max_tokens: 5 });
      if (r.status === 429) refused = r;
    }
    expect(refused).toBeDefined();
    expect(refused!.body.error.code).toBe('rate_limit_exceeded');
    expect(refused!.headers.get('x-ratelimit-remaining-tokens')).toBeDefined();
  });

  it('answers 402 quota_exhausted with x-quota-reset when the quota is used, and /v1/usage agrees', async () => {
    const key = await newKey({ quota_tokens: 12 });
    const ok = await gen(key, { prompt: 'abc', max_tokens: 4 });
    expect(ok.status).toBe(200);
    const usage = await call(t.baseUrl, 'GET', '/v1/usage', { key });
    expect(usage.body.quota_tokens).toBe(12);
    expect(usage.body.used_tokens).toBe(ok.body.usage.total_tokens);
    let exhausted;
    for (let i = 0; i < 6 && !exhausted; i++) {
      const r = await gen(key, { prompt: 'abc', max_tokens: 4 });
      if (r.status === 402) exhausted = r;
    }
    expect(exhausted!.body.error.code).toBe('quota_exhausted');
    expect(new Date(exhausted!.headers.get('x-quota-reset')!).getTime()).toBeGreaterThan(Date.now());
    expect(exhausted!.body.error.message).toContain(exhausted!.headers.get('x-quota-reset'));
    const after = await call(t.baseUrl, 'GET', '/v1/usage', { key });
    expect(after.body.used_tokens).toBeLessThanOrEqual(12);
  });
});

describe('quota race across two replicas sharing Redis and PostgreSQL', () => {
  (redisUrl ? it : it.skip)(
    'never counts more than the quota; what clients were told equals what is recorded',
    async () => {
      const yaml = await modelsYaml();
      const a = await startTestApp({ MODELS_CONFIG: yaml, REDIS_URL: redisUrl!, QUOTA_FLUSH_MS: '100' });
      const b = await startTestApp({ MODELS_CONFIG: yaml, REDIS_URL: redisUrl!, QUOTA_FLUSH_MS: '100' }, a.dbUrl);
      try {
        const quota = 150;
        const created = await call(a.baseUrl, 'POST', '/admin/keys', {
          key: a.adminKey,
          body: { label: 'race', quota_tokens: quota, rpm: 1000 },
        });
        const key = created.body.key;
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            call(i % 2 ? a.baseUrl : b.baseUrl, 'POST', '/v1/generate', {
              key,
              body: { prompt: 'abcd', max_tokens: 6, temperature: 0.9 },
            }),
          ),
        );
        const served = results.filter((r) => r.status === 200);
        const refused = results.filter((r) => r.status === 402);
        expect(served.length + refused.length).toBe(50);
        expect(served.length).toBeGreaterThan(0);
        expect(refused.length).toBeGreaterThan(0);
        const told = served.reduce((n, r) => n + r.body.usage.total_tokens, 0);
        expect(told).toBeLessThanOrEqual(quota);
        // A key with quota left is served: what is left cannot fit even the smallest request.
        expect(quota - told).toBeLessThan(5 + 1);
        // Both replicas write their ledgers behind: flush them rather than wait out QUOTA_FLUSH_MS.
        await Promise.all([a, b].map((t) => t.running.app.get(FlushRegistry).flushAll()));
        const [row] = await queryDb<{ used: string }>(
          a.dbUrl,
          'SELECT sum(used_tokens)::text AS used FROM quota_usage WHERE key_id = $1',
          [created.body.id],
        );
        expect(Number(row.used)).toBe(told);
        const usage = await call(b.baseUrl, 'GET', '/v1/usage', { key });
        expect(usage.body.used_tokens).toBe(told);
        expect(usage.body.reserved_tokens).toBe(0);
      } finally {
        await b.close({ keepDatabase: true });
        await a.close();
      }
    },
  );
});
