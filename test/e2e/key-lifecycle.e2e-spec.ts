import { call, startTestApp, type TestApp } from '../helpers/test-app';
import { queryDb } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';

describe('API key lifecycle', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await startTestApp();
    // A second replica on the same database.
    b = await startTestApp({}, a.dbUrl);
  });
  afterAll(async () => {
    await b.close({ keepDatabase: true });
    await a.close();
  });

  const whoami = (t: TestApp, key: string) => call(t.baseUrl, 'GET', '/admin/keys?limit=1', { key });

  it('create → use → deactivate → activate → rotate → revoke, on two replicas', async () => {
    const created = await call(a.baseUrl, 'POST', '/admin/keys', {
      key: a.adminKey,
      body: { label: 'ops', role: 'admin', rpm: 10 },
    });
    expect(created.status).toBe(201);
    const { id, key } = created.body;
    expect(created.body.key_prefix).toBe(key.slice(0, 11));
    expect(created.body.rpm).toBe(10);
    // Warm both replicas' caches.
    expect((await whoami(a, key)).status).toBe(200);
    expect((await whoami(b, key)).status).toBe(200);

    await call(a.baseUrl, 'PATCH', `/admin/keys/${id}`, { key: a.adminKey, body: { active: false } });
    expect((await whoami(a, key)).body.error.code).toBe('api_key_inactive');
    // The other replica hears about it through the change listener, long before its cached entry
    // expires (KEY_CACHE_TTL_MS, 60 s by default, is longer than waitFor's timeout).
    await waitFor('replica b to refuse the deactivated key', () => whoami(b, key), {
      until: (res) => res.status === 403,
    });

    await call(b.baseUrl, 'PATCH', `/admin/keys/${id}`, { key: b.adminKey, body: { active: true } });
    await waitFor('replica a to accept the reactivated key', () => whoami(a, key), {
      until: (res) => res.status === 200,
    });

    const rotated = await call(a.baseUrl, 'POST', `/admin/keys/${id}/rotate`, { key: a.adminKey });
    expect(rotated.status).toBe(200);
    expect(rotated.body.key).not.toBe(key);
    expect(rotated.body.rotated_at).not.toBeNull();
    expect((await whoami(a, key)).body.error.code).toBe('invalid_api_key');
    await waitFor('replica b to refuse the rotated-out key', () => whoami(b, key), {
      until: (res) => res.status === 401,
    });
    expect((await whoami(b, rotated.body.key)).status).toBe(200);

    const revoked = await call(b.baseUrl, 'DELETE', `/admin/keys/${id}`, { key: b.adminKey });
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');
    await waitFor('replica a to refuse the revoked key', () => whoami(a, rotated.body.key), {
      until: (res) => res.status === 401,
    });
    // Revoked keys stay readable, cannot be changed or revived.
    const read = await call(a.baseUrl, 'GET', `/admin/keys/${id}`, { key: a.adminKey });
    expect(read.body.revoked_at).not.toBeNull();
    const revive = await call(a.baseUrl, 'PATCH', `/admin/keys/${id}`, { key: a.adminKey, body: { active: true } });
    expect(revive.status).toBe(404);

    // The database never holds a plaintext key, and answers never include the hash.
    const rows = await queryDb(a.dbUrl, 'SELECT * FROM api_keys');
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(key);
    expect(dump).not.toContain(rotated.body.key);
    expect(dump).not.toContain(a.adminKey);
    expect(JSON.stringify(read.body)).not.toMatch(/hash/);
    expect(read.body.key).toBeUndefined();
  });

  it('paginates and filters the key list', async () => {
    for (let i = 0; i < 5; i++) {
      await call(a.baseUrl, 'POST', '/admin/keys', { key: a.adminKey, body: { label: `page-${i}` } });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r: { body: { data: { label: string }[]; next_cursor: string | null } } = await call(
        a.baseUrl,
        'GET',
        `/admin/keys?limit=2&label=page-${cursor ? `&cursor=${cursor}` : ''}`,
        { key: a.adminKey },
      );
      expect(r.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...r.body.data.map((k) => k.label));
      cursor = r.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(['page-4', 'page-3', 'page-2', 'page-1', 'page-0']);
    const admins = await call(a.baseUrl, 'GET', '/admin/keys?role=admin&active=true', { key: a.adminKey });
    expect(admins.body.data.every((k: { role: string; active: boolean }) => k.role === 'admin' && k.active)).toBe(true);
  });

  it('bootstraps idempotently: restarting with the same BOOTSTRAP_API_KEY adds no key', async () => {
    const before = await queryDb(a.dbUrl, "SELECT count(*)::int AS n FROM api_keys WHERE label = 'bootstrap'");
    const c = await startTestApp({}, a.dbUrl);
    await c.close({ keepDatabase: true });
    const after = await queryDb(a.dbUrl, "SELECT count(*)::int AS n FROM api_keys WHERE label = 'bootstrap'");
    expect(after[0].n).toBe(before[0].n);
    expect(after[0].n).toBe(1);
  });
});
