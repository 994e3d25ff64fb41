import { CompletionCache } from '../../src/cache/completion-cache.service';
import { CompletionCacheRepository } from '../../src/cache/completion-cache.repository';
import { queryDb } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';
import {
  bootCache,
  drain,
  expectValidStream,
  request,
  scripted,
  textOf,
  uniqueModel,
  type CacheHarness,
} from './cache-fixtures';

/** In-process L1 (no REDIS_URL) in front of PostgreSQL. */
describe(CompletionCache.name, () => {
  let h: CacheHarness;
  beforeAll(async () => {
    h = await bootCache();
  });
  afterAll(() => h.t.close());
  afterEach(() => jest.restoreAllMocks());

  async function ask(req = request(), compute = scripted()) {
    const r = await h.cache.run(req, compute.fn);
    return { source: r.source, tier: r.tier, events: await drain(r.events) };
  }

  it('answers the same deterministic request from the cache with identical events and usage', async () => {
    const req = request({ model: uniqueModel() });
    const compute = scripted({ text: 'The answer is 42.', usage: { promptTokens: 7, completionTokens: 5 } });
    const first = await ask(req, compute);
    await h.cache.drain();
    const find = jest.spyOn(h.t.running.app.get(CompletionCacheRepository), 'find');
    const second = await ask(req, compute);
    expect(find).not.toHaveBeenCalled();
    expect(first.source).toBe('miss');
    expect(second).toMatchObject({ source: 'hit', tier: 'l1' });
    expect(compute.calls).toBe(1);
    expectValidStream(second.events);
    expect(textOf(second.events)).toBe('The answer is 42.');
    expect(second.events.at(-1)).toEqual(first.events.at(-1));
    expect(second.events.at(-1)).toEqual({
      type: 'done',
      finishReason: 'stop',
      usage: { promptTokens: 7, completionTokens: 5 },
    });
  });

  it('still hits after a restart: a new instance on the same database answers from PostgreSQL (L2)', async () => {
    const req = request({ model: uniqueModel() });
    const compute = scripted({ text: 'persisted' });
    await ask(req, compute);
    await h.cache.drain();
    const again = await bootCache({}, h.t.dbUrl);
    try {
      const r = await again.cache.run(req, compute.fn);
      expect(r).toMatchObject({ source: 'hit', tier: 'l2' });
      expect(textOf(await drain(r.events))).toBe('persisted');
      // The L2 hit filled the new instance's L1.
      const r2 = await again.cache.run(req, compute.fn);
      expect(r2).toMatchObject({ source: 'hit', tier: 'l1' });
      await drain(r2.events);
      expect(compute.calls).toBe(1);
    } finally {
      await again.t.close({ keepDatabase: true });
    }
    // The graceful shutdown flushed the two hits counted in memory.
    const [row] = await queryDb(h.t.dbUrl, 'SELECT hit_count FROM completion_cache WHERE model = $1', [req.model]);
    expect(row.hit_count).toBe('2');
  });

  it('does not cache non-deterministic requests in the default mode, and caches seeded ones', async () => {
    const model = uniqueModel();
    const compute = scripted();
    const sampled = request({ model }, { temperature: 0.8 });
    expect((await ask(sampled, compute)).source).toBe('bypass');
    expect((await ask(sampled, compute)).source).toBe('bypass');
    expect(compute.calls).toBe(2);
    const seeded = request({ model }, { temperature: 0.8, seed: 7 });
    expect((await ask(seeded, compute)).source).toBe('miss');
    await h.cache.drain();
    expect((await ask(seeded, compute)).source).toBe('hit');
    expect(compute.calls).toBe(3);
    const rows = await queryDb(h.t.dbUrl, 'SELECT count(*)::int AS n FROM completion_cache WHERE model = $1', [model]);
    expect(rows[0].n).toBe(1);
  });

  it('splits the cache on every parameter that changes the output, not on ones that do not', async () => {
    const model = uniqueModel();
    const base = request({ model }, { temperature: 0.5, seed: 1 });
    const compute = scripted();
    await ask(base, compute);
    await h.cache.drain();
    const changes: [string, Parameters<typeof request>[1]][] = [
      ['temperature', { temperature: 0.6 }],
      ['top_p', { topP: 0.9 }],
      ['top_k', { topK: 40 }],
      ['max_tokens', { maxTokens: 33 }],
      ['stop', { stop: ['\n'] }],
      ['seed', { seed: 2 }],
      ['repetition penalty', { repetitionPenalty: 1.1 }],
    ];
    for (const [name, change] of changes) {
      const r = await ask({ ...base, params: { ...base.params, ...change } }, compute);
      expect([name, r.source]).toEqual([name, 'miss']);
    }
    expect((await ask({ ...base, prompt: 'Say hello ' }, compute)).source).toBe('miss');
    expect(compute.calls).toBe(1 + changes.length + 1);
    // stream / user / stream_options never reach the key: the same CacheRequest is built for them.
    expect((await ask({ ...base }, compute)).source).toBe('hit');
    // Stop sequences are a set: order and repeats do not split.
    await ask({ ...base, params: { ...base.params, stop: ['a', 'b'] } }, compute);
    await h.cache.drain();
    expect((await ask({ ...base, params: { ...base.params, stop: ['b', 'a', 'a'] } }, compute)).source).toBe('hit');
  });

  it('keys chat messages by role, name and content', async () => {
    const model = uniqueModel();
    const compute = scripted();
    const chat = request({ model, prompt: undefined, messages: [{ role: 'user', content: 'hi' }] });
    await ask(chat, compute);
    await h.cache.drain();
    expect((await ask({ ...chat, messages: [{ role: 'user', content: 'hi' }] }, compute)).source).toBe('hit');
    expect((await ask({ ...chat, messages: [{ role: 'system', content: 'hi' }] }, compute)).source).toBe('miss');
    expect((await ask({ ...chat, messages: [{ role: 'user', content: 'hi', name: 'bob' }] }, compute)).source).toBe(
      'miss',
    );
    expect(
      (
        await ask(
          {
            ...chat,
            messages: [
              { role: 'user', content: 'hi' },
              { role: 'user', content: 'hi' },
            ],
          },
          compute,
        )
      ).source,
    ).toBe('miss');
    // A prompt equal to the message text is a different input.
    expect((await ask(request({ model, prompt: 'hi' }), compute)).source).toBe('miss');
    expect(compute.calls).toBe(5);
  });

  it('never crosses models, and a new model version misses', async () => {
    const a = uniqueModel();
    const b = uniqueModel();
    await ask(request({ model: a }), scripted({ text: 'from a' }));
    await h.cache.drain();
    const other = await ask(request({ model: b }), scripted({ text: 'from b' }));
    expect(other.source).toBe('miss');
    expect(textOf(other.events)).toBe('from b');
    const upgraded = await ask(request({ model: a, version: 'v2' }), scripted({ text: 'a, new weights' }));
    expect(upgraded.source).toBe('miss');
    await h.cache.drain();
    expect(textOf((await ask(request({ model: a }), scripted())).events)).toBe('from a');
    expect(textOf((await ask(request({ model: a, version: 'v2' }), scripted())).events)).toBe('a, new weights');
  });

  it('honours Cache-Control: no-cache skips the lookup but stores; no-store neither reads nor writes', async () => {
    const model = uniqueModel();
    await ask(request({ model }), scripted({ text: 'old' }));
    await h.cache.drain();
    const fresh = await ask(request({ model, cacheControl: 'no-cache' }), scripted({ text: 'new' }));
    expect(fresh.source).toBe('bypass');
    expect(textOf(fresh.events)).toBe('new');
    await h.cache.drain();
    expect(textOf((await ask(request({ model }), scripted())).events)).toBe('new');

    const other = uniqueModel();
    const compute = scripted({ text: 'secret' });
    expect((await ask(request({ model: other, cacheControl: 'No-Store' }), compute)).source).toBe('bypass');
    await h.cache.drain();
    expect((await ask(request({ model: other }), compute)).source).toBe('miss');
    await h.cache.drain();
    const skipRead = await ask(request({ model: other, cacheControl: 'max-age=0, no-store' }), compute);
    expect(skipRead.source).toBe('bypass');
    expect(compute.calls).toBe(3);
    const rows = await queryDb(h.t.dbUrl, 'SELECT count(*)::int AS n FROM completion_cache WHERE model = $1', [other]);
    expect(rows[0].n).toBe(1);
  });

  it('expires entries after their TTL in both tiers (per-call ttl, injectable clock)', async () => {
    const req = request({ model: uniqueModel(), ttlSeconds: 60 });
    const compute = scripted();
    const t0 = Date.now();
    jest.spyOn(h.clock, 'now').mockReturnValue(t0);
    await ask(req, compute);
    await h.cache.drain();
    jest.spyOn(h.clock, 'now').mockReturnValue(t0 + 59_000);
    expect((await ask(req, compute)).source).toBe('hit');
    jest.spyOn(h.clock, 'now').mockReturnValue(t0 + 61_000);
    expect((await ask(req, compute)).source).toBe('miss');
    expect(compute.calls).toBe(2);
    await h.cache.drain();
    const [row] = await queryDb<{ ttl: number }>(
      h.t.dbUrl,
      'SELECT extract(epoch FROM expires_at - created_at)::int AS ttl FROM completion_cache WHERE model = $1',
      [req.model],
    );
    expect(row.ttl).toBe(60);
  });

  it('treats a model with cache_ttl 0 as not cacheable', async () => {
    const compute = scripted();
    const req = request({ model: uniqueModel(), ttlSeconds: 0 });
    expect((await ask(req, compute)).source).toBe('bypass');
    expect((await ask(req, compute)).source).toBe('bypass');
    expect(compute.calls).toBe(2);
  });

  it('replays a streaming hit as valid events, and never stores a cut stream', async () => {
    const req = request({ model: uniqueModel() });
    const cut = scripted({ text: 'partial answer here', chunks: 4, failAfter: 2 });
    const r = await h.cache.run(req, cut.fn);
    expect(r.source).toBe('miss');
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const e of r.events) if (e.type === 'delta') seen.push(e.text);
      })(),
    ).rejects.toThrow('upstream broke');
    expect(seen.length).toBe(2);
    await h.cache.drain();
    const rows = await queryDb(h.t.dbUrl, 'SELECT 1 FROM completion_cache WHERE model = $1', [req.model]);
    expect(rows).toHaveLength(0);
    const whole = scripted({ text: 'the whole answer', chunks: 5 });
    expect((await ask(req, whole)).source).toBe('miss');
    await h.cache.drain();
    const hit = await ask(req, whole);
    expect(hit.source).toBe('hit');
    expectValidStream(hit.events);
    expect(textOf(hit.events)).toBe('the whole answer');
  });

  it('does not store a stream the consumer cancelled, nor an answer the pipeline marks not storable', async () => {
    const req = request({ model: uniqueModel() });
    const slow = scripted({ chunks: 4, delayMs: 20 });
    const r = await h.cache.run(req, slow.fn);
    const it = r.events[Symbol.asyncIterator]();
    await it.next();
    await it.return!();
    await waitFor('the computation to be aborted', () => slow.aborted, { until: (n) => n === 1 });
    const fallback = await h.cache.run(request({ model: req.model, prompt: 'fallback' }), (signal, ctx) => {
      ctx.doNotStore();
      return scripted().fn(signal, ctx);
    });
    expect(textOf(await drain(fallback.events))).toBe('Hello there, friend.');
    await h.cache.drain();
    const rows = await queryDb(h.t.dbUrl, 'SELECT 1 FROM completion_cache WHERE model = $1', [req.model]);
    expect(rows).toHaveLength(0);
  });

  it('counts lookups per tier for the metrics hook', async () => {
    const seen: string[] = [];
    h.stats.addHook({ onLookup: (tier, result) => seen.push(`${tier}:${result}`) });
    const req = request({ model: uniqueModel() });
    await ask(req);
    await h.cache.drain();
    await ask(req);
    expect(seen.slice(-3)).toEqual(['l1:miss', 'l2:miss', 'l1:hit']);
  });
});

describe(`${CompletionCache.name} modes`, () => {
  it.each([
    ['all', 'miss', 'hit', 1],
    ['off', 'bypass', 'bypass', 2],
  ])('CACHE_MODE=%s: a sampled request answers %s then %s', async (mode, first, second, calls) => {
    const h = await bootCache({ CACHE_MODE: mode });
    try {
      const req = request({ model: uniqueModel() }, { temperature: 0.9 });
      const compute = scripted();
      const a = await h.cache.run(req, compute.fn);
      await drain(a.events);
      await h.cache.drain();
      const b = await h.cache.run(req, compute.fn);
      await drain(b.events);
      expect([a.source, b.source]).toEqual([first, second]);
      expect(compute.calls).toBe(calls);
      if (mode === 'off') {
        const greedy = await h.cache.run(request({ model: req.model }), compute.fn);
        expect(greedy.source).toBe('bypass');
        await drain(greedy.events);
      }
    } finally {
      await h.t.close();
    }
  });
});
