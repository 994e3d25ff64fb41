import { CacheEvictor } from '../../src/cache/cache-evictor';
import { queryDb } from '../helpers/test-database';
import { bootCache, drain, request, scripted, uniqueModel, type CacheHarness } from './cache-fixtures';

/** L2 bookkeeping: batched hit counts, TTL sweep and the LRU size bound (CACHE_MAX_ENTRIES=5). */
describe(CacheEvictor.name, () => {
  let h: CacheHarness;
  let t0: number;
  beforeAll(async () => {
    h = await bootCache({ CACHE_MAX_ENTRIES: '5' });
  });
  afterAll(() => h.t.close());
  beforeEach(() => {
    t0 = Date.now();
    jest.spyOn(h.clock, 'now').mockImplementation(() => t0);
  });
  afterEach(() => jest.restoreAllMocks());

  const rowsOf = (model: string) =>
    queryDb<{ prompt: string; hit_count: string; last_hit_at: Date | null }>(
      h.t.dbUrl,
      `SELECT response->>'text' AS prompt, hit_count, last_hit_at FROM completion_cache WHERE model = $1 ORDER BY 1`,
      [model],
    );

  async function put(model: string, prompt: string, ttlSeconds?: number) {
    const r = await h.cache.run(request({ model, prompt, ttlSeconds }), scripted({ text: prompt }).fn);
    await drain(r.events);
    await h.cache.drain();
  }

  async function hit(model: string, prompt: string) {
    const r = await h.cache.run(request({ model, prompt }), scripted({ text: 'recomputed' }).fn);
    expect(r.source).toBe('hit');
    await drain(r.events);
  }

  it('counts hits in memory and writes them in one batch, not one write per hit', async () => {
    const model = uniqueModel();
    await put(model, 'counted');
    t0 += 1_000;
    for (let i = 0; i < 3; i++) await hit(model, 'counted');
    expect((await rowsOf(model))[0]).toMatchObject({ hit_count: '0', last_hit_at: null });
    expect(h.hits.pendingKeys).toBeGreaterThan(0);
    await h.hits.flush();
    const [row] = await rowsOf(model);
    expect(row.hit_count).toBe('3');
    expect(row.last_hit_at!.getTime()).toBe(t0);
  });

  it('deletes expired rows in the sweep, and expired rows are never served meanwhile', async () => {
    const model = uniqueModel();
    await put(model, 'short', 10);
    await put(model, 'long', 1_000);
    t0 += 11_000;
    const r = await h.cache.run(request({ model, prompt: 'short' }), scripted().fn);
    expect(r.source).toBe('miss');
    await r.events.return!();
    await h.evictor.sweep();
    expect((await rowsOf(model)).map((x) => x.prompt)).toEqual(['long']);
  });

  it('evicts the least recently used rows beyond CACHE_MAX_ENTRIES', async () => {
    await h.cache.purge();
    const model = uniqueModel();
    for (const p of ['p1', 'p2', 'p3', 'p4', 'p5']) {
      await put(model, p);
      t0 += 1_000;
    }
    // p1 and p2 are the oldest, but p1 was just used: p2 and p3 are now the least recently used.
    await hit(model, 'p1');
    await h.hits.flush();
    t0 += 1_000;
    await put(model, 'p6');
    t0 += 1_000;
    await put(model, 'p7');
    const swept = await h.evictor.sweep();
    expect(swept.evicted).toBe(2);
    expect((await rowsOf(model)).map((x) => x.prompt)).toEqual(['p1', 'p4', 'p5', 'p6', 'p7']);
    expect(h.stats.counters.evicted).toBeGreaterThanOrEqual(2);
  });
});
