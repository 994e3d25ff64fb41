import { CacheController } from '../../src/cache/cache.controller';
import { call } from '../helpers/test-app';
import { queryDb } from '../helpers/test-database';
import { bootCache, drain, request, scripted, uniqueModel, type CacheHarness } from './cache-fixtures';

describe(CacheController.name, () => {
  let h: CacheHarness;
  let userKey: string;
  const count = async () =>
    (await queryDb<{ n: number }>(h.t.dbUrl, 'SELECT count(*)::int AS n FROM completion_cache'))[0].n;

  async function seed(model: string, prompts: string[]) {
    for (const prompt of prompts) await drain((await h.cache.run(request({ model, prompt }), scripted().fn)).events);
    await h.cache.drain();
  }

  beforeAll(async () => {
    h = await bootCache();
    userKey = (await call(h.t.baseUrl, 'POST', '/admin/keys', { key: h.t.adminKey, body: { label: 'user' } })).body.key;
  });
  afterAll(() => h.t.close());

  it('refuses non-admin keys and missing keys, deleting nothing', async () => {
    await seed(uniqueModel(), ['x']);
    const before = await count();
    const asUser = await call(h.t.baseUrl, 'DELETE', '/admin/cache', { key: userKey });
    expect(asUser.status).toBe(403);
    expect(asUser.body.error.code).toBe('forbidden');
    const anonymous = await call(h.t.baseUrl, 'DELETE', '/admin/cache');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('missing_api_key');
    expect(await count()).toBe(before);
  });

  it.each([
    ['/admin/cache?model=', 'model'],
    ['/admin/cache?model=has%20space', 'model'],
    ['/admin/cache?model=' + 'x'.repeat(201), 'model'],
    ['/admin/cache?models=tiny', 'models'],
    ['/admin/cache?model=a&model=b', 'model'],
  ])('answers 400 for %s with param %s, deleting nothing', async (path, param) => {
    await seed(uniqueModel(), ['y']);
    const before = await count();
    const r = await call(h.t.baseUrl, 'DELETE', path, { key: h.t.adminKey });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_request', param });
    expect(await count()).toBe(before);
  });

  it('purges one model, then everything, answering how many entries went', async () => {
    const a = uniqueModel();
    const b = uniqueModel();
    await seed(a, ['1', '2', '3']);
    await seed(b, ['1']);
    const one = await call(h.t.baseUrl, 'DELETE', `/admin/cache?model=${a}`, { key: h.t.adminKey });
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ deleted: 3 });
    // The in-process L1 forgot that model too.
    const r = await h.cache.run(request({ model: a, prompt: '1' }), scripted().fn);
    expect(r.source).toBe('miss');
    await drain(r.events);
    await h.cache.drain();
    const total = await count();
    const all = await call(h.t.baseUrl, 'DELETE', '/admin/cache', { key: h.t.adminKey });
    expect(all.body).toEqual({ deleted: total });
    expect(await count()).toBe(0);
    const again = await h.cache.run(request({ model: b, prompt: '1' }), scripted().fn);
    expect(again.source).toBe('miss');
    await drain(again.events);
  });
});
