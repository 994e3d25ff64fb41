import { QuotaService } from '../../src/quota/quota.service';
import { UsageRecorder } from '../../src/usage/usage.recorder';
import { call, startTestApp, type TestApp } from '../helpers/test-app';
import { Client } from 'pg';
import { queryDb } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';

describe('usage endpoints', () => {
  let t: TestApp;
  let user: { id: string; key: string };
  let other: { id: string; key: string };
  let recorder: UsageRecorder;
  let quota: QuotaService;
  const today = new Date().toISOString().slice(0, 10);
  const earlier = new Date(Date.now() - 100 * 86_400_000).toISOString().slice(0, 10); // a past period
  const since = new Date(Date.now() - 200 * 86_400_000).toISOString().slice(0, 10);
  const admin = (path: string) => call(t.baseUrl, 'GET', path, { key: t.adminKey });

  beforeAll(async () => {
    t = await startTestApp({ QUOTA_FLUSH_MS: '60000' });
    const create = async (body: object) =>
      (await call(t.baseUrl, 'POST', '/admin/keys', { key: t.adminKey, body })).body;
    user = await create({ label: 'reader', quota_tokens: 500 });
    other = await create({ label: 'other' });
    recorder = t.running.app.get(UsageRecorder);
    quota = t.running.app.get(QuotaService);
    const key = {
      id: user.id,
      label: 'reader',
      role: 'user' as const,
      quotaTokens: 500,
      rpm: null,
      tpm: null,
      allowedModels: null,
    };
    await quota.settle(await quota.reserve(key, 20, 100), { promptTokens: 20, completionTokens: 30 });
    await quota.reserve(key, 10, 10); // in flight
    recorder.record({ keyId: user.id, model: 'tiny', promptTokens: 20, completionTokens: 30, cached: false });
    recorder.record({ keyId: user.id, model: 'tiny', promptTokens: 20, completionTokens: 30, cached: true }); // a free cache hit
    recorder.record({ keyId: user.id, model: 'big', promptTokens: 5, completionTokens: 7, cached: false });
    recorder.record({ keyId: other.id, model: 'tiny', promptTokens: 1, completionTokens: 1, cached: false });
    recorder.record({
      keyId: user.id,
      model: 'tiny',
      promptTokens: 3,
      completionTokens: 3,
      cached: false,
      at: new Date(`${earlier}T12:00:00Z`),
    });
  });
  afterAll(() => t.close());

  it('does show a key its own period, quota and per-model usage, before and after the write-behind', async () => {
    const expected = {
      quota_tokens: 500,
      used_tokens: 50,
      reserved_tokens: 20,
      remaining_tokens: 430,
      by_model: [
        { model: 'big', prompt_tokens: 5, completion_tokens: 7, requests: 1 },
        { model: 'tiny', prompt_tokens: 20, completion_tokens: 30, requests: 2 },
      ],
    };
    const before = await call(t.baseUrl, 'GET', '/v1/usage', { key: user.key });
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject(expected);
    expect(before.body.period_start).toBe(quota.currentPeriod().start.toISOString());
    expect(before.body.reset_at).toBe(quota.currentPeriod().end.toISOString());
    await recorder.flush();
    await quota.flush();
    expect((await call(t.baseUrl, 'GET', '/v1/usage', { key: user.key })).body).toMatchObject(expected);
    const rows = await queryDb(
      t.dbUrl,
      `SELECT model, requests::int, cached_requests::int, prompt_tokens::int FROM usage_daily WHERE key_id = $1 AND day = $2 ORDER BY model`,
      [user.id, today],
    );
    expect(rows).toEqual([
      { model: 'big', requests: 1, cached_requests: 0, prompt_tokens: 5 },
      { model: 'tiny', requests: 2, cached_requests: 1, prompt_tokens: 20 },
    ]);
  });

  it("does give admins a key's usage by period, model and day", async () => {
    await recorder.flush();
    const r = await admin(`/admin/keys/${user.id}/usage?from=${since}&to=${today}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ key_id: user.id, from: since, to: today, quota_tokens: 500 });
    expect(r.body.current_period).toMatchObject({ used_tokens: 50, reserved_tokens: 20, remaining_tokens: 430 });
    expect(r.body.periods).toEqual([
      { period_start: quota.currentPeriod().start.toISOString(), used_tokens: 50, reserved_tokens: 0 },
    ]);
    expect(r.body.by_model.find((m: { model: string }) => m.model === 'tiny')).toMatchObject({
      requests: 3,
      prompt_tokens: 23,
      total_tokens: 56,
      cached_requests: 1,
    });
    expect(r.body.by_day.map((d: { day: string; model: string }) => `${d.day}/${d.model}`)).toEqual([
      `${earlier}/tiny`,
      `${today}/big`,
      `${today}/tiny`,
    ]);
    const defaults = await admin(`/admin/keys/${user.id}/usage`);
    expect(defaults.body.to).toBe(today);
    expect(defaults.body.by_day.some((d: { day: string }) => d.day === earlier)).toBe(false);
  });

  it('does aggregate every key by model, key or day', async () => {
    await recorder.flush();
    const byModel = await admin('/admin/usage?group_by=model');
    expect(byModel.body.data).toEqual([
      { model: 'tiny', requests: 3, prompt_tokens: 21, completion_tokens: 31, total_tokens: 52, cached_requests: 1 },
      { model: 'big', requests: 1, prompt_tokens: 5, completion_tokens: 7, total_tokens: 12, cached_requests: 0 },
    ]);
    const byKey = await admin(`/admin/usage?group_by=key&from=${since}&to=${today}`);
    expect(
      byKey.body.data.map((k: { key_id: string; label: string; total_tokens: number }) => [
        k.key_id,
        k.label,
        k.total_tokens,
      ]),
    ).toEqual([
      [user.id, 'reader', 68],
      [other.id, 'other', 2],
    ]);
    const byDay = await admin(`/admin/usage?group_by=day&from=${since}&to=${today}`);
    expect(byDay.body.data.map((d: { day: string; requests: number }) => [d.day, d.requests])).toEqual([
      [earlier, 1],
      [today, 4],
    ]);
  });

  it('does count a batch that is being written exactly once (a read beside a flush)', async () => {
    const third = (await call(t.baseUrl, 'POST', '/admin/keys', { key: t.adminKey, body: { label: 'third' } })).body;
    recorder.record({ keyId: third.id, model: 'tiny', promptTokens: 100, completionTokens: 50, cached: false });
    // Hold the rollup upsert on a table lock: the flush has taken its batch and waits to write it.
    const locker = new Client({ connectionString: t.dbUrl });
    await locker.connect();
    try {
      await locker.query('BEGIN; LOCK TABLE usage_daily IN SHARE ROW EXCLUSIVE MODE');
      const flushing = recorder.flush();
      await waitFor('the flush to wait on the lock', async () => {
        const rows = await queryDb(
          t.dbUrl,
          `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%usage_daily%'`,
        );
        return rows.length > 0;
      });
      const reading = call(t.baseUrl, 'GET', '/v1/usage', { key: third.key });
      await call(t.baseUrl, 'GET', '/v1/models', { key: t.adminKey }); // the read has had its turn
      await locker.query('COMMIT');
      expect((await reading).body.by_model).toEqual([
        { model: 'tiny', prompt_tokens: 100, completion_tokens: 50, requests: 1 },
      ]);
      await flushing;
    } finally {
      await locker.end();
    }
  });

  it('does refuse the admin reports to non-admin keys', async () => {
    for (const path of ['/admin/usage', `/admin/keys/${user.id}/usage`]) {
      const r = await call(t.baseUrl, 'GET', path, { key: user.key });
      expect([r.status, r.body.error.code]).toEqual([403, 'forbidden']);
    }
    expect((await call(t.baseUrl, 'GET', '/v1/usage')).status).toBe(401);
  });

  it.each([
    ['/admin/usage?group_by=user', 'group_by'],
    ['/admin/usage?from=2025-13-01', 'from'],
    ['/admin/usage?from=2025-02-30', 'from'],
    ['/admin/usage?to=yesterday', 'to'],
    ['/admin/usage?from=2025-03-02&to=2025-03-01', 'from'],
    ['/admin/usage?from=2024-01-01&to=2025-06-01', 'to'],
    ['/admin/usage?limit=0', 'limit'],
    ['/admin/usage?limit=abc', 'limit'],
    ['/admin/usage?colour=red', 'colour'],
    ['/admin/keys/not-a-uuid/usage', 'id'],
    ['/admin/keys/USER/usage?from=20250101', 'from'],
    ['/admin/keys/USER/usage?group_by=model', 'group_by'],
    ['/v1/usage?verbose=1', 'verbose'],
  ])('does answer GET %s with 400 naming %s', async (path, param) => {
    const r = await call(t.baseUrl, 'GET', path.replace('USER', user.id), {
      key: path.startsWith('/v1') ? user.key : t.adminKey,
    });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_request', param });
  });

  it('does answer 404 for the usage of an unknown key', async () => {
    const r = await admin('/admin/keys/00000000-0000-4000-8000-000000000000/usage');
    expect([r.status, r.body.error.code]).toEqual([404, 'not_found']);
  });

  it('does refuse negative or absurd rpm, tpm and quota_tokens through the admin API, changing nothing', async () => {
    const snapshot = () => queryDb(t.dbUrl, `SELECT id, rpm, tpm, quota_tokens FROM api_keys ORDER BY id`);
    const before = JSON.stringify(await snapshot());
    const bad: [string, string, object, string][] = [
      ['POST', '/admin/keys', { label: 'x', rpm: -1 }, 'rpm'],
      ['POST', '/admin/keys', { label: 'x', rpm: 1e9 }, 'rpm'],
      ['POST', '/admin/keys', { label: 'x', tpm: -100 }, 'tpm'],
      ['POST', '/admin/keys', { label: 'x', tpm: 2.5 }, 'tpm'],
      ['POST', '/admin/keys', { label: 'x', quota_tokens: -1 }, 'quota_tokens'],
      ['POST', '/admin/keys', { label: 'x', quota_tokens: 1e16 }, 'quota_tokens'],
      ['PATCH', `/admin/keys/${user.id}`, { rpm: -5 }, 'rpm'],
      ['PATCH', `/admin/keys/${user.id}`, { tpm: 'lots' }, 'tpm'],
      ['PATCH', `/admin/keys/${user.id}`, { quota_tokens: Number.MAX_VALUE }, 'quota_tokens'],
    ];
    for (const [method, path, body, param] of bad) {
      const r = await call(t.baseUrl, method, path, { key: t.adminKey, body });
      expect([r.status, r.body.error.param]).toEqual([400, param]);
    }
    expect(JSON.stringify(await snapshot())).toBe(before);
  });

  it('does report the limits and quota modes in readyz', async () => {
    const r = await call(t.baseUrl, 'GET', '/readyz');
    expect(r.body.details.limits).toMatchObject({ status: 'up', mode: 'local' });
    expect(r.body.details.quota).toMatchObject({ status: 'up', mode: 'local' });
  });
});
