import { call, startTestApp, type TestApp } from '../helpers/test-app';
import { queryDb } from '../helpers/test-database';

describe('admin API input validation', () => {
  let t: TestApp;
  let id: string;
  let snapshot: () => Promise<string>;
  beforeAll(async () => {
    t = await startTestApp({ MAX_BODY_BYTES: '4096' });
    id = (await call(t.baseUrl, 'POST', '/admin/keys', { key: t.adminKey, body: { label: 'target' } })).body.id;
    snapshot = async () => JSON.stringify(await queryDb(t.dbUrl, 'SELECT * FROM api_keys ORDER BY id'));
  });
  afterAll(() => t.close());

  const bad: [string, string, unknown, string | null][] = [
    ['POST', '/admin/keys', {}, 'label'],
    ['POST', '/admin/keys', { label: '' }, 'label'],
    ['POST', '/admin/keys', { label: 'x', role: 'root' }, 'role'],
    ['POST', '/admin/keys', { label: 'x', rpm: -1 }, 'rpm'],
    ['POST', '/admin/keys', { label: 'x', tpm: 1e12 }, 'tpm'],
    ['POST', '/admin/keys', { label: 'x', quota_tokens: 1.5 }, 'quota_tokens'],
    ['POST', '/admin/keys', { label: 'x', quota_tokens: '100' }, 'quota_tokens'],
    ['POST', '/admin/keys', { label: 'x', allowed_models: 'tiny' }, 'allowed_models'],
    ['POST', '/admin/keys', { label: 'x', allowed_models: ['a', 'a'] }, 'allowed_models'],
    ['POST', '/admin/keys', { label: 'x', allowed_models: [''] }, 'allowed_models.0'],
    ['POST', '/admin/keys', { label: 'x', colour: 'red' }, 'colour'],
    ['POST', '/admin/keys', [1, 2], null],
    ['PATCH', '/admin/keys/ID', {}, null],
    ['PATCH', '/admin/keys/ID', { active: 'yes' }, 'active'],
    ['PATCH', '/admin/keys/ID', { rpm: -5 }, 'rpm'],
    ['PATCH', '/admin/keys/ID', { id: 'x' }, 'id'],
    ['PATCH', '/admin/keys/not-a-uuid', { active: true }, 'id'],
    ['GET', '/admin/keys/not-a-uuid', undefined, 'id'],
    ['POST', '/admin/keys/not-a-uuid/rotate', undefined, 'id'],
    ['DELETE', '/admin/keys/not-a-uuid', undefined, 'id'],
    ['GET', '/admin/keys?limit=0', undefined, 'limit'],
    ['GET', '/admin/keys?limit=abc', undefined, 'limit'],
    ['GET', '/admin/keys?active=maybe', undefined, 'active'],
    ['GET', '/admin/keys?cursor=bm9wZQ', undefined, 'cursor'],
    ['GET', '/admin/keys?sort=asc', undefined, 'sort'],
  ];

  it.each(bad)('%s %s %j → 400 with param %s, nothing changed', async (method, path, body, param) => {
    const before = await snapshot();
    const r = await call(t.baseUrl, method, path.replace('ID', id), { key: t.adminKey, body });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
    expect(r.body.error.type).toBe('invalid_request_error');
    expect(r.body.error.param).toBe(param);
    expect(await snapshot()).toBe(before);
  });

  it('answers 404 not_found for an unknown key id on every key route', async () => {
    const ghost = '00000000-0000-4000-8000-000000000000';
    for (const [method, path] of [
      ['GET', ''],
      ['PATCH', ''],
      ['POST', '/rotate'],
      ['DELETE', ''],
    ]) {
      const r = await call(t.baseUrl, method, `/admin/keys/${ghost}${path}`, {
        key: t.adminKey,
        body: method === 'PATCH' ? { label: 'y' } : undefined,
      });
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    }
  });

  it('turns malformed JSON, wrong content types and oversized bodies into 4xx, never 500', async () => {
    const malformed = await call(t.baseUrl, 'POST', '/admin/keys', { key: t.adminKey, rawBody: '{"label": "x",' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('invalid_request');
    const huge = await call(t.baseUrl, 'POST', '/admin/keys', { key: t.adminKey, body: { label: 'x'.repeat(10_000) } });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('request_too_large');
    const text = await call(t.baseUrl, 'POST', '/admin/keys', {
      key: t.adminKey,
      rawBody: 'label=x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBeGreaterThanOrEqual(400);
    expect(text.status).toBeLessThan(500);
    expect(text.body.error.code).toBe('invalid_request');
    const empty = await call(t.baseUrl, 'POST', '/admin/keys', { key: t.adminKey, rawBody: '' });
    expect(empty.status).toBe(400);
  });

  it('never returns a plaintext key or a hash except at creation and rotation', async () => {
    const list = await call(t.baseUrl, 'GET', '/admin/keys', { key: t.adminKey });
    for (const k of list.body.data) {
      expect(k.key).toBeUndefined();
      expect(Object.keys(k).some((f) => f.includes('hash'))).toBe(false);
    }
  });
});
