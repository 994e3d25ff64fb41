import type { StreamEvent } from '../models/provider.interface';
import { Flight } from './flight';

const delta = (text: string): StreamEvent => ({ type: 'delta', text });
const done: StreamEvent = { type: 'done', finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 2 } };

describe(Flight.name, () => {
  it('gives a late reader the buffered events, then live ones, then the end', async () => {
    const f = new Flight(() => undefined);
    const early = f.attach();
    f.push(delta('a'));
    const late = f.attach();
    const pending = late.next();
    const lateFirst = await pending;
    expect(lateFirst.value).toEqual(delta('a'));
    const waiting = late.next();
    f.push(delta('b'));
    expect((await waiting).value).toEqual(delta('b'));
    f.push(done);
    f.finish('done');
    expect((await late.next()).value).toEqual(done);
    expect((await late.next()).done).toBe(true);
    const all: StreamEvent[] = [];
    for await (const e of early) all.push(e);
    expect(all).toEqual([delta('a'), delta('b'), done]);
  });

  it('aborts its signal only when the last reader leaves an open flight', async () => {
    const abandoned = jest.fn();
    const f = new Flight(abandoned);
    const a = f.attach();
    const b = f.attach();
    await a.return();
    expect(f.signal.aborted).toBe(false);
    await b.return();
    expect(f.signal.aborted).toBe(true);
    expect(f.abandoned).toBe(true);
    expect(abandoned).toHaveBeenCalledTimes(1);
  });

  it('does not abort a finished flight when its readers leave', async () => {
    const f = new Flight(() => undefined);
    const a = f.attach();
    f.push(done);
    f.finish('done');
    await a.return();
    expect(f.signal.aborted).toBe(false);
  });

  it('throws the producer error to every reader, and the client abort reason to the aborted one only', async () => {
    const f = new Flight(() => undefined);
    const client = new AbortController();
    const leaving = f.attach(client.signal);
    const staying = f.attach();
    const waiting = leaving.next();
    client.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    expect(f.signal.aborted).toBe(false);
    f.finish('failed', new Error('boom'));
    await expect(staying.next()).rejects.toThrow('boom');
  });

  it('resolves its decision once: a finish before any decision counts as a miss', async () => {
    const f = new Flight(() => undefined);
    f.finish('ended');
    f.decide({ source: 'hit', tier: 'l2' });
    await expect(f.decided).resolves.toEqual({ source: 'miss' });
  });
});
