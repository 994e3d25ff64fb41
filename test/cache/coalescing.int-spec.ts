import { CompletionCache } from '../../src/cache/completion-cache.service';
import type { StreamEvent } from '../../src/models/provider.interface';
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

/** Single flight on one replica: identical requests in flight share one computation. */
describe(`${CompletionCache.name} coalescing`, () => {
  let h: CacheHarness;
  beforeAll(async () => {
    h = await bootCache();
  });
  afterAll(() => h.t.close());

  it('computes 20 identical concurrent requests once; every one gets the full answer', async () => {
    const req = request({ model: uniqueModel() });
    const compute = scripted({ text: 'one answer for all', chunks: 4, delayMs: 15 });
    const runs = await Promise.all(Array.from({ length: 20 }, () => h.cache.run(req, compute.fn)));
    const streams = await Promise.all(runs.map((r) => drain(r.events)));
    expect(compute.calls).toBe(1);
    expect(runs.filter((r) => r.source === 'miss')).toHaveLength(1);
    expect(runs.filter((r) => r.source === 'hit' && r.coalesced)).toHaveLength(19);
    for (const events of streams) {
      expectValidStream(events);
      expect(textOf(events)).toBe('one answer for all');
    }
    await h.cache.drain();
    const [row] = await queryDb(h.t.dbUrl, 'SELECT count(*)::int AS n FROM completion_cache WHERE model = $1', [
      req.model,
    ]);
    expect(row.n).toBe(1);
  });

  it('streams live to followers, and a follower that joins late gets the deltas produced so far first', async () => {
    const req = request({ model: uniqueModel() });
    const compute = scripted({ text: 'abcdefgh', chunks: 4, delayMs: 25 });
    const leader = await h.cache.run(req, compute.fn);
    const it = leader.events[Symbol.asyncIterator]();
    const firstTwo = [await it.next(), await it.next()].map((r) => (r.value as StreamEvent & { text: string }).text);
    expect(firstTwo).toEqual(['ab', 'cd']);
    const late = await h.cache.run(req, compute.fn);
    expect(late).toMatchObject({ source: 'hit', coalesced: true });
    const lateIt = late.events[Symbol.asyncIterator]();
    // Already produced: available without waiting on the producer.
    expect(((await lateIt.next()).value as { text: string }).text).toBe('ab');
    const rest = await drain({ [Symbol.asyncIterator]: () => lateIt });
    const leaderRest = await drain({ [Symbol.asyncIterator]: () => it });
    expect('ab' + textOf(rest)).toBe('abcdefgh');
    expect(firstTwo.join('') + textOf(leaderRest)).toBe('abcdefgh');
    expect(compute.calls).toBe(1);
  });

  it('keeps computing for the followers when the leader disconnects, and stores the answer', async () => {
    const req = request({ model: uniqueModel() });
    const compute = scripted({ text: 'survives the leader', chunks: 4, delayMs: 20 });
    const leaderClient = new AbortController();
    const leader = await h.cache.run(req, compute.fn, leaderClient.signal);
    const followers = await Promise.all([1, 2, 3].map(() => h.cache.run(req, compute.fn)));
    const it = leader.events[Symbol.asyncIterator]();
    await it.next();
    leaderClient.abort(new Error('client went away'));
    await expect(it.next()).rejects.toThrow('client went away');
    const got = await Promise.all(followers.map((f) => drain(f.events)));
    for (const events of got) expect(textOf(events)).toBe('survives the leader');
    expect(compute.aborted).toBe(0);
    expect(compute.completed).toBe(1);
    await h.cache.drain();
    const again = await h.cache.run(req, compute.fn);
    expect(again.source).toBe('hit');
    await drain(again.events);
    expect(compute.calls).toBe(1);
  });

  it('aborts the computation only when every consumer is gone, and stores nothing', async () => {
    const req = request({ model: uniqueModel() });
    const compute = scripted({ chunks: 5, delayMs: 20 });
    const a = await h.cache.run(req, compute.fn);
    const b = await h.cache.run(req, compute.fn);
    const ia = a.events[Symbol.asyncIterator]();
    const ib = b.events[Symbol.asyncIterator]();
    await ia.next();
    await ia.return!();
    // The computation goes on for the consumer that is left: two more events reach it.
    await ib.next();
    await ib.next();
    expect(compute.aborted).toBe(0);
    await ib.return!();
    await waitFor('the computation to be aborted', () => compute.aborted, { until: (n) => n === 1 });
    expect(h.cache.inFlight).toBe(0);
    await h.cache.drain();
    const rows = await queryDb(h.t.dbUrl, 'SELECT 1 FROM completion_cache WHERE model = $1', [req.model]);
    expect(rows).toHaveLength(0);
    // The next identical request starts afresh.
    const c = await h.cache.run(req, compute.fn);
    expect(c.source).toBe('miss');
    await drain(c.events);
    expect(compute.calls).toBe(2);
  });

  it("gives every follower the leader's error, then lets the next request try again", async () => {
    const req = request({ model: uniqueModel() });
    const failing = scripted({ chunks: 4, delayMs: 10, failAfter: 1, failWith: new Error('model crashed') });
    const runs = await Promise.all(Array.from({ length: 5 }, () => h.cache.run(req, failing.fn)));
    const results = await Promise.allSettled(runs.map((r) => drain(r.events)));
    expect(results.map((r) => r.status)).toEqual(Array(5).fill('rejected'));
    for (const r of results) expect((r as PromiseRejectedResult).reason.message).toBe('model crashed');
    expect(failing.calls).toBe(1);
    const ok = scripted({ text: 'recovered' });
    const retry = await h.cache.run(req, ok.fn);
    expect(retry.source).toBe('miss');
    expect(textOf(await drain(retry.events))).toBe('recovered');
  });

  it('does not let a no-cache request join a flight, but lets others join a no-cache one', async () => {
    const req = request({ model: uniqueModel() });
    const compute = scripted({ chunks: 3, delayMs: 15 });
    const normal = await h.cache.run(req, compute.fn);
    const fresh = await h.cache.run({ ...req, cacheControl: 'no-cache' }, compute.fn);
    expect(fresh.source).toBe('bypass');
    await Promise.all([drain(normal.events), drain(fresh.events)]);
    expect(compute.calls).toBe(2);

    const other = request({ model: uniqueModel() });
    const fresh2 = await h.cache.run({ ...other, cacheControl: 'no-cache' }, compute.fn);
    const joiner = await h.cache.run(other, compute.fn);
    expect(joiner).toMatchObject({ source: 'hit', coalesced: true });
    await Promise.all([drain(fresh2.events), drain(joiner.events)]);
    expect(compute.calls).toBe(3);
  });
});
