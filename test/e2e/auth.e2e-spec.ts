import { LastUsedTracker } from '../../src/api-keys/last-used.tracker';
import { call, startTestApp, type TestApp } from '../helpers/test-app';
import { queryDb } from '../helpers/test-database';

describe('API key authentication', () => {
  let t: TestApp;
  let userKey: string;
  let userId: string;
  beforeAll(async () => {
    t = await startTestApp();
    const r = await call(t.baseUrl, 'POST', '/admin/keys', { key: t.adminKey, body: { label: 'alice', role: 'user' } });
    userKey = r.body.key;
    userId = r.body.id;
  });
  afterAll(() => t.close());

  it('tells a missing key from an invalid one', async () => {
    const missing = await call(t.baseUrl, 'GET', '/admin/keys');
    expect(missing.status).toBe(401);
    expect(missing.body.error).toEqual(
      expect.objectContaining({ code: 'missing_api_key', type: 'authentication_error' }),
    );
    const invalid = await call(t.baseUrl, 'GET', '/admin/keys', { key: 'sk-not-a-real-key-00000000000000000' });
    expect(invalid.status).toBe(401);
    expect(invalid.body.error.code).toBe('invalid_api_key');
    const garbage = await call(t.baseUrl, 'GET', '/admin/keys', {
      headers: { authorization: 'Bearer not a key at all' },
    });
    expect(garbage.body.error.code).toBe('invalid_api_key');
  });

  it('accepts the key as X-API-Key and as a bearer token', async () => {
    expect((await call(t.baseUrl, 'GET', '/admin/keys', { key: t.adminKey })).status).toBe(200);
    const bearer = await call(t.baseUrl, 'GET', '/admin/keys', { headers: { authorization: `Bearer ${t.adminKey}` } });
    expect(bearer.status).toBe(200);
  });

  it('refuses X-API-Key and a bearer token that carry different keys, whichever is the admin', async () => {
    for (const [xApiKey, bearer] of [
      [t.adminKey, userKey],
      [userKey, t.adminKey],
      [t.adminKey, 'sk-not-a-real-key-00000000000000000'],
    ]) {
      for (const path of ['/admin/keys', '/v1/usage', '/v1/models']) {
        const r = await call(t.baseUrl, 'GET', path, { key: xApiKey, headers: { authorization: `Bearer ${bearer}` } });
        expect(r.status).toBe(401);
        expect(r.body.error).toEqual(
          expect.objectContaining({ code: 'invalid_api_key', type: 'authentication_error' }),
        );
      }
    }
  });

  it('accepts the same key sent both ways', async () => {
    const r = await call(t.baseUrl, 'GET', '/admin/keys', {
      key: t.adminKey,
      headers: { authorization: `bearer  ${t.adminKey} ` },
    });
    expect(r.status).toBe(200);
  });

  it('refuses non-admin keys on admin routes with forbidden', async () => {
    const r = await call(t.baseUrl, 'GET', '/admin/keys', { key: userKey });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('forbidden');
  });

  it('refuses an inactive key with api_key_inactive', async () => {
    const created = await call(t.baseUrl, 'POST', '/admin/keys', {
      key: t.adminKey,
      body: { label: 'bob', role: 'admin' },
    });
    await call(t.baseUrl, 'PATCH', `/admin/keys/${created.body.id}`, { key: t.adminKey, body: { active: false } });
    const r = await call(t.baseUrl, 'GET', '/admin/keys', { key: created.body.key });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('api_key_inactive');
  });

  it('keeps the public routes public and everything else closed', async () => {
    expect((await call(t.baseUrl, 'GET', '/healthz')).status).toBe(200);
    expect((await call(t.baseUrl, 'GET', '/docs-json')).status).toBe(200);
    const unknown = await call(t.baseUrl, 'GET', '/no/such/route', { key: userKey });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
  });

  it('echoes a sane x-request-id and replaces an insane one', async () => {
    const sane = await call(t.baseUrl, 'GET', '/healthz', { headers: { 'x-request-id': 'abc-123' } });
    expect(sane.headers.get('x-request-id')).toBe('abc-123');
    const insane = await call(t.baseUrl, 'GET', '/healthz', { headers: { 'x-request-id': 'a b <script>' } });
    expect(insane.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const err = await call(t.baseUrl, 'GET', '/admin/keys');
    expect(err.headers.get('x-request-id')).toBeTruthy();
  });

  it('records last_used_at without a write per request', async () => {
    await call(t.baseUrl, 'GET', `/admin/keys/${userId}`, { key: t.adminKey });
    await call(t.baseUrl, 'GET', '/no/such/route', { key: userKey });
    const before = await queryDb(t.dbUrl, 'SELECT last_used_at FROM api_keys WHERE id = $1', [userId]);
    expect(before[0].last_used_at).toBeNull();
    await t.running.app.get(LastUsedTracker).flush();
    const after = await queryDb(t.dbUrl, 'SELECT last_used_at FROM api_keys WHERE id = $1', [userId]);
    expect(after[0].last_used_at).toBeInstanceOf(Date);
  });
});
