import { call, startTestApp, TestApp } from '../helpers/test-app';

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
