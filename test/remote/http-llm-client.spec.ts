import { ApiError } from '../../src/common/errors/api-error';
import { ErrorCode } from '../../src/common/errors/error-code';
import { HttpLLMClient, type HttpLLMClientOptions } from '../../src/models/http/http-llm-client';
import { UpstreamStreamCutError } from '../../src/models/http/upstream-errors';
import type { GenerateRequest, StreamEvent } from '../../src/models/provider.interface';
import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { waitFor } from '../helpers/wait-for';

const params = { maxTokens: 16, temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, stop: [] as string[] };
const chat = (extra: Partial<GenerateRequest> = {}): GenerateRequest => ({
  messages: [{ role: 'user', content: 'Say hello' }],
  params,
  ...extra,
});

async function collect(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const e of stream) out.push(e);
  return out;
}

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    return err as ApiError;
  }
  throw new Error('expected a rejection');
}

describe(HttpLLMClient.name, () => {
  let upstream: FakeOpenAIUpstream;
  const clients: HttpLLMClient[] = [];
  const client = (opts: Partial<HttpLLMClientOptions> = {}): HttpLLMClient => {
    const c = new HttpLLMClient({
      model: 'big',
      baseUrl: upstream.baseUrl,
      timeoutMs: 2_000,
      maxRetries: 2,
      retry: { baseDelayMs: 10, maxDelayMs: 50 },
      ...opts,
    });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    upstream = await FakeOpenAIUpstream.start();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await upstream.stop();
  });

  describe('request mapping', () => {
    it('sends a chat request with mapped parameters, auth and the upstream model', async () => {
      const c = client({ upstreamModel: 'meta/llama', apiKey: 'secret-1' });
      const r = await c.generate(
        chat({
          params: { ...params, topK: 40, repetitionPenalty: 1.2, stop: ['\n'], seed: 7, temperature: 0.5, topP: 0.9 },
          user: 'u1',
          requestId: 'req-1',
        }),
      );
      expect(r).toEqual({
        text: 'Hello, world!',
        finishReason: 'stop',
        usage: { promptTokens: 11, completionTokens: 4 },
      });
      const seen = upstream.completionRequests[0];
      expect(seen.path).toBe('/v1/chat/completions');
      expect(seen.headers.authorization).toBe('Bearer secret-1');
      expect(seen.headers['x-request-id']).toBe('req-1');
      expect(seen.body).toEqual({
        model: 'meta/llama',
        messages: [{ role: 'user', content: 'Say hello' }],
        max_tokens: 16,
        temperature: 0.5,
        top_p: 0.9,
        stop: ['\n'],
        seed: 7,
        user: 'u1',
      });
    });

    it('sends prompts to /completions, model defaulting to the id, extras only when enabled', async () => {
      const c = client({ extendedSampling: true });
      const r = await c.generate({ prompt: 'Once', params: { ...params, topK: 40, repetitionPenalty: 1.1 } });
      expect(r.text).toBe('Hello, world!');
      const seen = upstream.completionRequests[0];
      expect(seen.path).toBe('/v1/completions');
      expect(seen.headers.authorization).toBeUndefined();
      expect(seen.body).toMatchObject({ model: 'big', prompt: 'Once', top_k: 40, repetition_penalty: 1.1 });
    });

    it('reuses one keep-alive connection for sequential requests', async () => {
      const c = client();
      await c.generate(chat());
      // The pool frees the connection a tick after the body ends.
      await new Promise((r) => setImmediate(r));
      await c.generate(chat());
      const [a, b] = upstream.completionRequests;
      expect(a.remotePort).toBeDefined();
      expect(b.remotePort).toBe(a.remotePort);
    });
  });

  describe('retries', () => {
    it('retries a 500 then succeeds', async () => {
      upstream.enqueue({ kind: 'status', status: 500 });
      const r = await client().generate(chat());
      expect(r.text).toBe('Hello, world!');
      expect(upstream.completionRequests).toHaveLength(2);
    });

    it('caps a far-off Retry-After', async () => {
      upstream.enqueue({ kind: 'status', status: 503, retryAfter: '30' });
      await client({ retry: { baseDelayMs: 10, maxRetryAfterMs: 300 } }).generate(chat());
      const [first, second] = upstream.completionRequests;
      expect(second.receivedAt - first.receivedAt).toBeGreaterThanOrEqual(280); // waited the cap, not the backoff
      // Nor the 30 s asked for: a bound far from both figures, so a loaded machine does not matter.
      expect(second.receivedAt - first.receivedAt).toBeLessThan(15_000);
    });

    it('gives up after max_retries with upstream_error carrying the upstream message', async () => {
      upstream.setDefault({ kind: 'status', status: 502, message: 'engine exploded' });
      const err = await rejection(client({ maxRetries: 2 }).generate(chat()));
      expect(err).toBeInstanceOf(ApiError);
      expect(err.code).toBe(ErrorCode.UpstreamError);
      expect(err.status).toBe(502);
      expect(err.message).toContain('engine exploded');
      expect(upstream.completionRequests).toHaveLength(3);
    });

    it('maps a 429 to rate_limit_exceeded with Retry-After, without retrying (docs/api.md)', async () => {
      upstream.setDefault({ kind: 'status', status: 429, retryAfter: '0' });
      const err = await rejection(client({ maxRetries: 1 }).generate(chat()));
      expect(err.code).toBe(ErrorCode.RateLimitExceeded);
      expect(err.status).toBe(429);
      expect(err.headers['Retry-After']).toBe('1');
      expect(upstream.completionRequests).toHaveLength(1);
    });

    it('does not retry a 4xx and includes the upstream message', async () => {
      upstream.enqueue({ kind: 'status', status: 400, message: 'maximum context length is 4096' });
      const err = await rejection(client().generate(chat()));
      expect(err.code).toBe(ErrorCode.UpstreamError);
      expect(err.message).toContain('maximum context length is 4096');
      expect(upstream.completionRequests).toHaveLength(1);
    });
  });

  describe('transport failures', () => {
    it('maps a hung upstream to upstream_timeout without retrying', async () => {
      upstream.setDefault({ kind: 'hang' });
      // The upstream never answers: only the client's timeout can end this call.
      const err = await rejection(client({ timeoutMs: 300 }).generate(chat()));
      expect(err.code).toBe(ErrorCode.UpstreamTimeout);
      expect(err.status).toBe(504);
      expect(upstream.completionRequests).toHaveLength(1);
    });

    it('maps a refused connection (after retries) to model_unavailable', async () => {
      const c = client();
      await upstream.stop();
      const err = await rejection(c.generate(chat()));
      expect(err.code).toBe(ErrorCode.ModelUnavailable);
      expect(err.status).toBe(503);
      expect(err.message).toContain('ECONNREFUSED');
    });

    it('retries a connection reset and then succeeds', async () => {
      upstream.enqueue({ kind: 'reset' });
      const r = await client().generate(chat());
      expect(r.text).toBe('Hello, world!');
      expect(upstream.completionRequests).toHaveLength(2);
    });
  });

  describe('streaming', () => {
    it('passes deltas through as they arrive (first delta before the upstream finished)', async () => {
      upstream.setDefault({ kind: 'pause', afterDeltas: 1 });
      const it = client().stream(chat())[Symbol.asyncIterator]();
      const first = await it.next();
      expect(first.value).toEqual({ type: 'delta', text: 'Hello' });
      expect(upstream.completionRequests[0].finishedAt).toBeUndefined();
      upstream.resume();
      const rest: StreamEvent[] = [];
      for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value);
      expect(rest.map((e) => (e.type === 'delta' ? e.text : 'done'))).toEqual([',', ' world', '!', 'done']);
      expect(rest.at(-1)).toEqual({
        type: 'done',
        finishReason: 'stop',
        usage: { promptTokens: 11, completionTokens: 4 },
      });
      expect(upstream.completionRequests[0].body).toMatchObject({
        stream: true,
        stream_options: { include_usage: true },
      });
    });

    it('parses \\r\\n line ends and comment lines', async () => {
      upstream.options.crlf = true;
      const events = await collect(client().stream({ prompt: 'x', params }));
      expect(
        events
          .filter((e) => e.type === 'delta')
          .map((e) => (e as { text: string }).text)
          .join(''),
      ).toBe('Hello, world!');
      expect(events.at(-1)?.type).toBe('done');
    });

    it('accepts an upstream that answers a stream request in one JSON piece', async () => {
      upstream.setDefault({ kind: 'json' });
      const events = await collect(client().stream(chat()));
      expect(events).toEqual([
        { type: 'delta', text: 'Hello, world!' },
        { type: 'done', finishReason: 'stop', usage: { promptTokens: 11, completionTokens: 4 } },
      ]);
    });

    it('retries before the stream started', async () => {
      upstream.enqueue({ kind: 'status', status: 503 });
      const events = await collect(client().stream(chat()));
      expect(events.at(-1)?.type).toBe('done');
      expect(upstream.completionRequests).toHaveLength(2);
    });

    it('throws after the partial deltas when the upstream cuts the stream, with partial usage, never retrying', async () => {
      upstream.setDefault({ kind: 'cut', afterDeltas: 2 });
      const got: string[] = [];
      let error: unknown;
      try {
        for await (const e of client({ maxRetries: 3 }).stream(chat())) if (e.type === 'delta') got.push(e.text);
      } catch (err) {
        error = err;
      }
      expect(got).toEqual(['Hello', ',']);
      expect(error).toBeInstanceOf(UpstreamStreamCutError);
      const cut = error as UpstreamStreamCutError;
      expect(cut.code).toBe(ErrorCode.UpstreamError);
      expect(cut.partialUsage).toEqual({ promptTokens: expect.any(Number), completionTokens: 2, estimated: true });
      expect(cut.partialUsage.promptTokens).toBeGreaterThan(0);
      expect(upstream.completionRequests).toHaveLength(1);
    });

    it('turns a mid-stream error event into an UpstreamStreamCutError with its message', async () => {
      upstream.setDefault({ kind: 'error-event', afterDeltas: 1, message: 'CUDA out of memory' });
      const got: string[] = [];
      const err = await rejection(
        (async () => {
          for await (const e of client().stream(chat())) if (e.type === 'delta') got.push(e.text);
        })(),
      );
      expect(got).toEqual(['Hello']);
      expect(err).toBeInstanceOf(UpstreamStreamCutError);
      expect(err.message).toContain('CUDA out of memory');
    });

    it('aborting mid-stream closes the upstream connection at once', async () => {
      upstream.setDefault({ kind: 'pause', afterDeltas: 1 });
      const ac = new AbortController();
      const stream = client().stream(chat({ signal: ac.signal }));
      const it = stream[Symbol.asyncIterator]();
      expect((await it.next()).value).toEqual({ type: 'delta', text: 'Hello' });
      const pending = it.next();
      ac.abort();
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
      const seen = upstream.completionRequests[0];
      await seen.closed;
      expect(seen.clientClosedEarly).toBe(true);
    });

    it('a consumer that stops reading closes the upstream connection too', async () => {
      upstream.setDefault({ kind: 'pause', afterDeltas: 1 });
      // A body timeout longer than the test's own: the connection can only close because we stopped.
      for await (const e of client({ timeoutMs: 120_000 }).stream(chat())) {
        expect(e).toEqual({ type: 'delta', text: 'Hello' });
        break;
      }
      await upstream.completionRequests[0].closed;
      expect(upstream.completionRequests[0].clientClosedEarly).toBe(true);
    });

    it('aborting a non-streaming request closes the upstream connection', async () => {
      upstream.options.delayMs = 5_000;
      const ac = new AbortController();
      const p = client().generate(chat({ signal: ac.signal }));
      await waitFor('the upstream to receive the request', () => upstream.completionRequests.length > 0, {
        intervalMs: 5,
      });
      ac.abort();
      await expect(p).rejects.toMatchObject({ name: 'AbortError' });
      await upstream.completionRequests[0].closed;
      expect(upstream.completionRequests[0].clientClosedEarly).toBe(true);
    });
  });

  describe('usage', () => {
    it('estimates usage (chars/4) when the upstream sends none, and says so', async () => {
      upstream.options.usage = false;
      const r = await client().generate({ prompt: 'abcdefgh', params });
      expect(r.usage).toEqual({ promptTokens: 2, completionTokens: 4, estimated: true }); // 'Hello, world!' = 13 chars
      const events = await collect(client().stream({ prompt: 'abcdefgh', params }));
      expect(events.at(-1)).toEqual({
        type: 'done',
        finishReason: 'stop',
        usage: { promptTokens: 2, completionTokens: 4, estimated: true },
      });
    });

    it('counts with the given tokenizer, adding per-message overhead for chat', async () => {
      upstream.options.usage = false;
      const words = (t: string): number => t.split(/\s+/).filter(Boolean).length;
      const c = client({ tokenCounter: words });
      expect(await c.countTokens('one two three')).toBe(3);
      expect(await c.countTokens([{ role: 'user', content: 'one two' }])).toBe(2 + 4 + 3);
      const r = await c.generate(chat());
      expect(r.usage).toEqual({ promptTokens: 2 + 4 + 3, completionTokens: 2, estimated: true });
    });

    it('says when its count is only a length estimate (not worth remembering per prompt)', () => {
      expect(client().countsByLength).toBe(true);
      expect(client({ tokenCounter: (t) => t.length }).countsByLength).toBe(false);
    });
  });

  describe('health', () => {
    it('is up while /models answers and down once the upstream is gone', async () => {
      const c = client({ health: { cacheMs: 0, timeoutMs: 500 } });
      await expect(c.health()).resolves.toMatchObject({ up: true, inflight: 0 });
      await upstream.stop();
      const down = await c.health();
      expect(down.up).toBe(false);
      expect(down.detail).toContain('ECONNREFUSED');
    });

    it('caches the result for a few seconds', async () => {
      const c = client({ health: { cacheMs: 10_000 } });
      await c.health();
      await c.health();
      expect(upstream.requests.filter((r) => r.path === '/v1/models')).toHaveLength(1);
    });

    it('has a version naming the base URL and the upstream model', () => {
      expect(client({ upstreamModel: 'm-1' }).version).toBe(`http:${upstream.baseUrl}:m-1`);
    });
  });
});
