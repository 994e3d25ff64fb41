import { call, startTestApp, type TestApp } from '../helpers/test-app';

describe('boot', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('serves healthz and readyz', async () => {
    const h = await call(t.baseUrl, 'GET', '/healthz');
    expect(h.status).toBe(200);
    const r = await call(t.baseUrl, 'GET', '/readyz');
    expect(r.status).toBe(200);
    expect(r.body.details.database.status).toBe('up');
  });

  it('creates a key', async () => {
    const r = await call(t.baseUrl, 'POST', '/admin/keys', { key: t.adminKey, body: { label: 'x' } });
    expect(r.status).toBe(201);
    expect(r.body.key).toMatch(/^sk-/);
  });
});

describe('boot with Redis', () => {
  const redisUrl = process.env.REDIS_URL;
  (redisUrl ? it : it.skip)(
    'reports Redis in readyz, and stays ready (degraded) when Redis is unreachable',
    async () => {
      const up = await startTestApp({ REDIS_URL: redisUrl! });
      try {
        const r = await call(up.baseUrl, 'GET', '/readyz');
        expect(r.status).toBe(200);
        expect(r.body.details.redis.connected).toBe(true);
      } finally {
        await up.close();
      }
      const down = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:1' });
      try {
        const r = await call(down.baseUrl, 'GET', '/readyz');
        expect(r.status).toBe(200);
        expect(r.body.details.redis.connected).toBe(false);
      } finally {
        await down.close();
      }
    },
  );
});
