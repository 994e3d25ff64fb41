import OpenAI, { BadRequestError, InternalServerError } from 'openai';
import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { tinyModelDir, writeModelsYaml } from '../helpers/model-fixtures';
import { call, startTestApp, type TestApp } from '../helpers/test-app';

/** Upstream errors keep their meaning (docs/api.md, upstream errors). */
describe('upstream errors through the HTTP API', () => {
  let t: TestApp;
  let upstream: FakeOpenAIUpstream;
  let plain: FakeOpenAIUpstream;
  const MAX_RETRIES = 1;
  const chat = (model: string) =>
    call(t.baseUrl, 'POST', '/v1/chat/completions', {
      key: t.adminKey,
      body: { model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 },
    });

  beforeAll(async () => {
    upstream = await FakeOpenAIUpstream.start({ deltas: ['from', ' remote'] });
    plain = await FakeOpenAIUpstream.start({ deltas: ['plain'] });
    const dir = await tinyModelDir();
    const yaml =
      `default_model: tiny\nmodels:\n  - id: tiny\n    provider: onnx\n    path: ${dir}\n` +
      `  - id: remote\n    provider: http\n    base_url: ${upstream.baseUrl}\n    max_retries: ${MAX_RETRIES}\n` +
      `    circuit_breaker: { failure_threshold: 2, cooldown_ms: 60000 }\n    fallbacks: [tiny]\n` +
      `  - id: nofallback\n    provider: http\n    base_url: ${plain.baseUrl}\n    max_retries: ${MAX_RETRIES}\n`;
    t = await startTestApp({ MODELS_CONFIG: writeModelsYaml(yaml) });
  });
  afterAll(async () => {
    await t.close();
    await upstream.stop();
    await plain.stop();
  });

  it.each([400, 404, 422])(
    'passes an upstream %i through: status, type, code, param, prefixed message, one call, no fallback',
    async (status) => {
      const before = upstream.completionRequests.length;
      upstream.enqueue({
        kind: 'status',
        status,
        message: 'tools[0].function.name is invalid',
        error: { type: 'invalid_request_error', code: 'invalid_value', param: 'tools[0].function.name' },
      });
      const res = await chat('remote');
      expect(res.status).toBe(status);
      expect(res.body.error).toEqual({
        message: 'remote: tools[0].function.name is invalid',
        type: 'invalid_request_error',
        code: 'invalid_value',
        param: 'tools[0].function.name',
      });
      expect(res.headers.get('x-should-retry')).toBe('false');
      expect(upstream.completionRequests.length - before).toBe(1);
    },
  );

  it('counts passed-through upstream errors under one metrics label, and says our own 4xx need no retry', async () => {
    const metrics = (await call(t.baseUrl, 'GET', '/metrics')).body as string;
    expect(metrics).toMatch(/llm_errors_total\{code="upstream_client_error"\} [1-9]/);
    expect(metrics).not.toMatch(/llm_errors_total\{code="invalid_value"\}/);
    const unauthenticated = await call(t.baseUrl, 'POST', '/v1/chat/completions', { body: {} });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('x-should-retry')).toBe('false');
  });

  it('keeps the breaker closed after many upstream 400s', async () => {
    for (let i = 0; i < 5; i++) upstream.enqueue({ kind: 'status', status: 400, message: 'bad' });
    for (let i = 0; i < 5; i++) expect((await chat('remote')).status).toBe(400);
    const ok = await chat('remote');
    expect(ok.status).toBe(200);
    expect(ok.body.model).toBe('remote');
    expect(ok.body.choices[0].message.content).toBe('from remote');
  });

  it("answers an upstream 429 with our 429 and the upstream's Retry-After, without retry or fallback", async () => {
    const before = upstream.completionRequests.length;
    upstream.enqueue({ kind: 'status', status: 429, retryAfter: '7', message: 'slow down' });
    const res = await chat('remote');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.headers.get('x-should-retry')).toBe('true');
    expect(res.body.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    expect(res.body.error.message).toContain('slow down');
    expect(upstream.completionRequests.length - before).toBe(1);
  });

  it.each([408, 409, 500, 503])('retries an upstream %i max_retries times, then falls back', async (status) => {
    const retries = async () =>
      Number(
        /llm_upstream_requests_total\{model="remote",outcome="retry"\} (\d+)/.exec(
          (await call(t.baseUrl, 'GET', '/metrics')).body as string,
        )?.[1] ?? 0,
      );
    const retriedBefore = await retries();
    const before = upstream.completionRequests.length;
    for (let i = 0; i <= MAX_RETRIES; i++) upstream.enqueue({ kind: 'status', status });
    const res = await chat('remote');
    expect(res.status).toBe(200);
    expect(res.body.model).toBe('tiny');
    expect(upstream.completionRequests.length - before).toBe(MAX_RETRIES + 1);
    expect((await retries()) - retriedBefore).toBe(MAX_RETRIES);
    // Close the breaker again for the next case: one success resets its failure count.
    expect((await chat('remote')).body.model).toBe('remote');
  });

  it('the openai SDK raises BadRequestError for an upstream 400, which the upstream saw once', async () => {
    const client = new OpenAI({ apiKey: t.adminKey, baseURL: `${t.baseUrl}/v1` });
    const before = plain.completionRequests.length;
    plain.enqueue({ kind: 'status', status: 400, message: 'unknown field', error: { param: 'foo', code: 'x' } });
    const err = await client.chat.completions
      .create({ model: 'nofallback', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).param).toBe('foo');
    expect(plain.completionRequests.length - before).toBe(1);
  });

  it('bounds the upstream calls of an SDK call with its default retries against an upstream 500', async () => {
    const sdkRetries = 2; // the openai SDK's default maxRetries
    const client = new OpenAI({ apiKey: t.adminKey, baseURL: `${t.baseUrl}/v1` });
    const before = plain.completionRequests.length;
    plain.setDefault({ kind: 'status', status: 500 });
    try {
      const err = await client.chat.completions
        .create({ model: 'nofallback', messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InternalServerError);
      expect((err as InternalServerError).status).toBe(502);
      // Each of the SDK's (1 + sdkRetries) requests reached the upstream at most max_retries + 1 times.
      expect(plain.completionRequests.length - before).toBe((sdkRetries + 1) * (MAX_RETRIES + 1));
    } finally {
      plain.setDefault({ kind: 'ok' });
    }
  });
});
