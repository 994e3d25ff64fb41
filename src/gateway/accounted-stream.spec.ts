import type { GenerateRequest, StreamEvent } from '../models/provider.interface';
import { ScriptedProvider } from '../models/registry/testing/scripted-provider';
import { AccountedStream, type StreamEnd } from './accounted-stream';

const req = { prompt: 'hi', params: {} } as GenerateRequest;

/** A provider's stream wrapped as the pipeline wraps it, with every reported end kept. */
function accounted(provider: ScriptedProvider, pending?: IteratorResult<StreamEvent>) {
  const ends: StreamEnd[] = [];
  const stream = new AccountedStream(provider.stream(req), (end) => void ends.push(end), pending);
  return { stream, ends };
}

async function drain(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const seen: StreamEvent[] = [];
  for await (const e of stream) seen.push(e);
  return seen;
}

/** An inner iterator that ends without a `done` event, as a cut connection does. */
async function* cutAfter(deltas: string[]): AsyncGenerator<StreamEvent> {
  for (const text of deltas) yield { type: 'delta', text };
}

describe(AccountedStream.name, () => {
  it('passes every event through and reports done once, with the text and the usage', async () => {
    const provider = new ScriptedProvider('m', 'onnx', ['Hel', 'lo']);
    const { stream, ends } = accounted(provider);
    const events = await drain(stream);
    expect(events.map((e) => e.type)).toEqual(['delta', 'delta', 'done']);
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({
      kind: 'done',
      text: 'Hello',
      finishReason: 'stop',
      usage: { promptTokens: 1, completionTokens: 2 },
    });
    expect(ends[0].firstTokenMs).toBeGreaterThanOrEqual(0);
    expect(await stream.next()).toEqual({ done: true, value: undefined });
    expect(ends).toHaveLength(1);
  });

  it('reports an error before any output with empty text, and rethrows it', async () => {
    const provider = new ScriptedProvider('m').queue({ fail: new Error('refused') });
    const { stream, ends } = accounted(provider);
    await expect(drain(stream)).rejects.toThrow('refused');
    expect(ends).toEqual([
      { kind: 'error', error: expect.objectContaining({ message: 'refused' }), text: '', firstTokenMs: undefined },
    ]);
  });

  it('reports an error after output with the text produced so far', async () => {
    const provider = new ScriptedProvider('m', 'http', ['one ', 'two ', 'three']).queue({
      failAfter: 2,
      error: new Error('cut'),
    });
    const { stream, ends } = accounted(provider);
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const e of stream) if (e.type === 'delta') seen.push(e.text);
      })(),
    ).rejects.toThrow('cut');
    expect(seen).toEqual(['one ', 'two ']);
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({ kind: 'error', text: 'one two ' });
    expect(ends[0].firstTokenMs).toBeGreaterThanOrEqual(0);
  });

  it('reports a stream that ends without a result (cut) as an error, keeping its text', async () => {
    const ends: StreamEnd[] = [];
    const stream = new AccountedStream(cutAfter(['par', 'tial']), (end) => void ends.push(end));
    expect((await drain(stream)).map((e) => e.type)).toEqual(['delta', 'delta']);
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({ kind: 'error', text: 'partial' });
    expect((ends[0] as { error: Error }).error.message).toBe('the model ended without a result');
  });

  it('reports a consumer that stops reading as cancelled, and closes the provider stream', async () => {
    const provider = new ScriptedProvider('m', 'onnx', ['a', 'b', 'c']);
    const { stream, ends } = accounted(provider);
    for await (const e of stream) {
      expect(e).toEqual({ type: 'delta', text: 'a' });
      break; // the client went away
    }
    expect(ends).toEqual([{ kind: 'cancelled', text: 'a', firstTokenMs: expect.any(Number) }]);
    expect(provider.events).toContain('stream-closed');
    expect(provider.events).not.toContain('done');
  });

  it('reports a stream cancelled before it started as cancelled with no text', async () => {
    const { stream, ends } = accounted(new ScriptedProvider('m'));
    await stream.return();
    await stream.return();
    expect(ends).toEqual([{ kind: 'cancelled', text: '', firstTokenMs: undefined }]);
  });

  it('does not report again when a completed stream is returned, but still closes the inner one', async () => {
    const provider = new ScriptedProvider('m');
    const { stream, ends } = accounted(provider);
    await drain(stream);
    await stream.return();
    expect(ends.map((e) => e.kind)).toEqual(['done']);
    expect(provider.events.filter((e) => e === 'stream-closed')).toHaveLength(1);
  });

  it('replays an event already pulled (to commit to a status) before the rest', async () => {
    const provider = new ScriptedProvider('m', 'onnx', ['x', 'y']);
    const inner = provider.stream(req);
    const first = await inner.next();
    const ends: StreamEnd[] = [];
    const stream = new AccountedStream(inner, (end) => void ends.push(end), first);
    const events = await drain(stream);
    expect(events.filter((e) => e.type === 'delta').map((e) => (e as { text: string }).text)).toEqual(['x', 'y']);
    expect(ends[0]).toMatchObject({ kind: 'done', text: 'xy' });
  });

  it('waits for the end handler before the last event is handed on', async () => {
    const order: string[] = [];
    const provider = new ScriptedProvider('m', 'onnx', ['z']);
    const stream = new AccountedStream(provider.stream(req), async () => {
      await Promise.resolve();
      order.push('settled');
    });
    for await (const e of stream) order.push(e.type);
    expect(order).toEqual(['delta', 'settled', 'done']);
  });
});
