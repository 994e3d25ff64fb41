import { ApiCallError, ApiClient, apiBase, failureFromBody } from '../../ui/src/api-client';
import { type CompletionRequest, runCompletion } from '../../ui/src/completion';

/** A fetch that records the call and answers with a streamed body, piece by piece. */
function fakeFetch(status: number, headers: Record<string, string>, pieces: string[]) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const fetchImpl = async (url: string, init: RequestInit = {}) => {
    calls.push({ url, init });
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const p of pieces) controller.enqueue(encoder.encode(p));
        controller.close();
      },
    });
    return new Response(body, { status, headers });
  };
  return { calls, fetchImpl };
}

const SSE = { 'content-type': 'text/event-stream', 'x-cache': 'miss', 'x-request-id': 'req-1' };
const chunk = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
const chat = (params: Partial<CompletionRequest['params']> = {}): CompletionRequest => ({
  mode: 'chat',
  messages: [{ role: 'user', content: 'Hi' }],
  params: { model: 'tiny', temperature: 0, maxTokens: 8, stream: true, noCache: false, ...params },
});

describe('apiBase', () => {
  it('is the parent of the page folder, so /ui/ pages call the root and sub-path mounts keep working', () => {
    expect(apiBase('http://h:8080/ui/')).toBe('http://h:8080/');
    expect(apiBase('http://h:8080/ui/admin.html?x=1')).toBe('http://h:8080/');
    expect(apiBase('http://h/llm/ui/index.html')).toBe('http://h/llm/');
    expect(apiBase('http://h:5173/')).toBe('http://h:5173/');
  });
});

describe('failureFromBody', () => {
  it('reads the OpenAI error body and the Retry-After and request id headers', () => {
    const headers = new Headers({ 'retry-after': '12', 'x-request-id': 'abc' });
    const f = failureFromBody(
      429,
      '{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}',
      headers,
    );
    expect(f).toEqual({
      status: 429,
      code: 'rate_limit_exceeded',
      message: 'slow down',
      param: null,
      retryAfter: '12',
      requestId: 'abc',
    });
  });

  it('turns a body that is not our JSON (a proxy page) into an http_<status> code', () => {
    const f = failureFromBody(502, '<html>Bad Gateway</html>');
    expect(f.code).toBe('http_502');
    expect(f.message).toContain('Bad Gateway');
  });
});

describe(runCompletion.name, () => {
  it('streams chat deltas in order and reports usage, cache, request id, finish reason and timings', async () => {
    const { calls, fetchImpl } = fakeFetch(200, SSE, [
      chunk({ model: 'tiny', choices: [{ delta: { role: 'assistant', content: '' } }] }),
      chunk({ model: 'tiny', choices: [{ delta: { content: 'Hel' } }] }).slice(0, 20),
      chunk({ model: 'tiny', choices: [{ delta: { content: 'Hel' } }] }).slice(20),
      chunk({ model: 'tiny', choices: [{ delta: { content: 'lo' }, finish_reason: 'stop' }] }),
      chunk({ model: 'tiny', choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } }),
      'data: [DONE]\n\n',
    ]);
    let t = 0;
    const deltas: string[] = [];
    const client = new ApiClient('http://h/', () => 'sk-test', fetchImpl);
    const r = await runCompletion(client, chat(), (d) => deltas.push(d), { now: () => (t += 10) });
    expect(deltas).toEqual(['Hel', 'lo']);
    expect(r).toMatchObject({
      text: 'Hello',
      model: 'tiny',
      finishReason: 'stop',
      cache: 'miss',
      requestId: 'req-1',
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    });
    expect(r.ttftMs).toBe(10);
    expect(r.latencyMs).toBe(20);
    expect(calls[0].url).toBe('http://h/v1/chat/completions');
    const sent = JSON.parse(String(calls[0].init.body));
    expect(sent).toEqual({
      messages: [{ role: 'user', content: 'Hi' }],
      model: 'tiny',
      max_tokens: 8,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect((calls[0].init.headers as Record<string, string>)['x-api-key']).toBe('sk-test');
  });

  it('uses /v1/generate in prompt mode, with seed and Cache-Control: no-cache when asked', async () => {
    const { calls, fetchImpl } = fakeFetch(200, SSE, [
      chunk({ id: 'g', model: 'tiny', text: 'ab' }),
      chunk({
        id: 'g',
        model: 'tiny',
        text: '',
        finish_reason: 'length',
        usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
        cached: false,
        latency_ms: 4.5,
      }),
      'data: [DONE]\n\n',
    ]);
    const client = new ApiClient('http://h/', () => 'k', fetchImpl);
    const r = await runCompletion(
      client,
      {
        mode: 'prompt',
        prompt: 'Once',
        params: { temperature: 1, maxTokens: 2, seed: 7, stream: true, noCache: true },
      },
      () => undefined,
    );
    expect(calls[0].url).toBe('http://h/v1/generate');
    expect(JSON.parse(String(calls[0].init.body))).toEqual({
      prompt: 'Once',
      max_tokens: 2,
      temperature: 1,
      stream: true,
      seed: 7,
    });
    expect((calls[0].init.headers as Record<string, string>)['cache-control']).toBe('no-cache');
    expect(r).toMatchObject({ text: 'ab', finishReason: 'length', serverLatencyMs: 4.5 });
  });

  it('throws the error event of a stream that fails midway, after handing over the text so far', async () => {
    const { fetchImpl } = fakeFetch(200, SSE, [
      chunk({ choices: [{ delta: { content: 'par' } }] }),
      chunk({ error: { message: 'upstream cut', type: 'server_error', param: null, code: 'upstream_error' } }),
    ]);
    const deltas: string[] = [];
    const err = await runCompletion(new ApiClient('http://h/', () => 'k', fetchImpl), chat(), (d) =>
      deltas.push(d),
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ApiCallError);
    expect(err.failure).toMatchObject({ code: 'upstream_error', message: 'upstream cut', requestId: 'req-1' });
    expect(deltas).toEqual(['par']);
  });

  it('calls a stream that ends without [DONE] incomplete', async () => {
    const { fetchImpl } = fakeFetch(200, SSE, [chunk({ choices: [{ delta: { content: 'x' } }] })]);
    const err = await runCompletion(new ApiClient('http://h/', () => 'k', fetchImpl), chat(), () => undefined).catch(
      (e) => e,
    );
    expect(err.failure.code).toBe('stream_incomplete');
  });

  it('throws a non-2xx answer as its code, with Retry-After, before any text', async () => {
    const { fetchImpl } = fakeFetch(429, { 'content-type': 'application/json', 'retry-after': '30' }, [
      '{"error":{"message":"rpm exceeded","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}',
    ]);
    const err = await runCompletion(new ApiClient('http://h/', () => 'k', fetchImpl), chat(), () => undefined).catch(
      (e) => e,
    );
    expect(err.failure).toMatchObject({ status: 429, code: 'rate_limit_exceeded', retryAfter: '30' });
  });

  it('reads a non-streamed chat answer', async () => {
    const { fetchImpl } = fakeFetch(200, { 'content-type': 'application/json', 'x-cache': 'hit' }, [
      JSON.stringify({
        model: 'tiny',
        choices: [{ message: { role: 'assistant', content: 'Hey' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      }),
    ]);
    const r = await runCompletion(
      new ApiClient('http://h/', () => 'k', fetchImpl),
      chat({ stream: false }),
      () => undefined,
    );
    expect(r).toMatchObject({ text: 'Hey', cache: 'hit', finishReason: 'stop' });
  });

  it('reports an unreachable server as network_error', async () => {
    const client = new ApiClient(
      'http://h/',
      () => 'k',
      async () => {
        throw new TypeError('fetch failed');
      },
    );
    const err = await runCompletion(client, chat(), () => undefined).catch((e) => e);
    expect(err.failure).toMatchObject({ status: 0, code: 'network_error' });
  });
});
