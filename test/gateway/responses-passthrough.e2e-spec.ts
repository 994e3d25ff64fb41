import OpenAI, { BadRequestError } from 'openai';
import { FakeResponsesUpstream } from '../helpers/fake-responses-upstream';
import { writeModelsYaml } from '../helpers/model-fixtures';
import { call, startTestApp, type TestApp } from '../helpers/test-app';
import { queryDb } from '../helpers/test-database';
import { InferenceLogWriter } from '../../src/usage/inference-log.writer';

/** A model whose upstream speaks the Responses API (`api: responses`): the request goes up whole. */
describe('POST /v1/responses (forwarded to an upstream that speaks it)', () => {
  let t: TestApp;
  let upstream: FakeResponsesUpstream;
  let client: OpenAI;
  const logs = async (): Promise<Record<string, unknown>[]> => {
    await t.running.app.get(InferenceLogWriter).flush();
    return queryDb(
      t.dbUrl,
      `SELECT status, error_code, prompt_tokens, completion_tokens, cached_prompt_tokens, endpoint, cached FROM inference_logs WHERE model = 'resp' ORDER BY created_at`,
    );
  };
  beforeAll(async () => {
    upstream = await FakeResponsesUpstream.start();
    const yaml = writeModelsYaml(
      `default_model: resp\nmodels:\n  - id: resp\n    provider: http\n    base_url: ${upstream.baseUrl}\n    upstream_model: gpt-up\n    api: responses\n    max_retries: 0\n`,
    );
    t = await startTestApp({ MODELS_CONFIG: yaml });
    client = new OpenAI({ apiKey: t.adminKey, baseURL: `${t.baseUrl}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await t.close();
    await upstream.stop();
  });

  it('forwards the body as sent (model replaced) and answers the upstream Response with our id and model', async () => {
    const input = [{ role: 'user' as const, content: [{ type: 'input_text' as const, text: 'hi' }] }];
    const tools = [{ type: 'web_search' as const }];
    const r = await client.responses.create({
      model: 'resp',
      input,
      tools,
      max_output_tokens: 50,
      include: ['web_search_call.action.sources'],
      store: false,
    });
    expect(r.output_text).toBe('Hi there.');
    expect(r.id).toMatch(/^resp_/);
    expect(r.id).not.toBe('resp_upstream1');
    expect(r.model).toBe('resp');
    expect(r.usage).toMatchObject({ input_tokens: 7, output_tokens: 3, input_tokens_details: { cached_tokens: 2 } });
    const sent = upstream.requests.at(-1)!;
    expect(sent.path).toBe('/v1/responses');
    expect(sent.body).toEqual({
      model: 'gpt-up',
      input,
      tools,
      max_output_tokens: 50,
      include: ['web_search_call.action.sources'],
      store: false,
    });
  });

  it('streams the upstream events with our id and model; finalResponse equals the non-streamed answer', async () => {
    const whole = await client.responses.create({ model: 'resp', input: 'hi' });
    const stream = client.responses.stream({ model: 'resp', input: 'hi' });
    const types: string[] = [];
    for await (const ev of stream) types.push(ev.type);
    const final = await stream.finalResponse();
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(types.filter((x) => x === 'response.output_text.delta')).toHaveLength(3);
    expect(final.model).toBe('resp');
    expect(final.output_text).toBe(whole.output_text);
    expect({ ...final, id: 0, output_parsed: undefined, output: undefined }).toMatchObject({
      ...whole,
      id: 0,
      output: undefined,
    });
    expect(upstream.requests.at(-1)!.body).toMatchObject({ stream: true, model: 'gpt-up' });
  });

  it('turns a whole answer to a stream request into response.created and response.completed', async () => {
    upstream.enqueue({ kind: 'json' });
    const stream = client.responses.stream({ model: 'resp', input: 'hi' });
    const types: string[] = [];
    for await (const ev of stream) types.push(ev.type);
    expect(types).toEqual(['response.created', 'response.completed']);
    const final = await stream.finalResponse();
    expect(final.output_text).toBe('Hi there.');
    expect(final.model).toBe('resp');
  });

  it('caps max_output_tokens at what the request may spend, and charges the upstream usage', async () => {
    const before = (await logs()).length;
    const res = await call(t.baseUrl, 'POST', '/v1/responses', {
      key: t.adminKey,
      body: { model: 'resp', input: 'hi', max_output_tokens: 5_000_000 },
    });
    expect(res.status).toBe(400); // over our own range (1..1e6): refused before anything is counted or sent
    await client.responses.create({ model: 'resp', input: 'hi' });
    // This key's quota is unlimited: no cap is added to a request that named none.
    expect(upstream.requests.at(-1)!.body).not.toHaveProperty('max_output_tokens');
    await client.responses.create({ model: 'resp', input: 'hi', max_output_tokens: 700 });
    expect(upstream.requests.at(-1)!.body.max_output_tokens).toBe(700);
    const rows = await logs();
    expect(rows.length).toBe(before + 2);
    expect(rows.at(-1)).toMatchObject({
      status: 200,
      prompt_tokens: 7,
      completion_tokens: 3,
      cached_prompt_tokens: 2,
      endpoint: '/v1/responses',
      cached: false,
    });
  });

  it("lowers max_output_tokens to what the key's quota leaves, and answers 402 once it is spent", async () => {
    const created = await call(t.baseUrl, 'POST', '/admin/keys', {
      key: t.adminKey,
      body: { label: 'small', quota_tokens: 40 },
    });
    const small = new OpenAI({ apiKey: created.body.key, baseURL: `${t.baseUrl}/v1`, maxRetries: 0 });
    await small.responses.create({ model: 'resp', input: 'hi', max_output_tokens: 500 });
    const cap = upstream.requests.at(-1)!.body.max_output_tokens as number;
    expect(cap).toBeGreaterThan(0);
    expect(cap).toBeLessThan(40);
    // A finite quota needs the bound even when the request names no cap.
    await small.responses.create({ model: 'resp', input: 'hi' });
    expect(upstream.requests.at(-1)!.body.max_output_tokens).toBeLessThan(40);
    // Each answer is charged the upstream's usage (7 + 3): asked until the quota is spent.
    let told = 20;
    let last = { status: 200, body: {} as { usage?: { total_tokens: number }; error?: { code: string } } };
    for (let i = 0; i < 10 && last.status === 200; i++) {
      last = await call(t.baseUrl, 'POST', '/v1/responses', {
        key: created.body.key,
        body: { model: 'resp', input: 'hi' },
      });
      if (last.status === 200) told += last.body.usage!.total_tokens;
    }
    expect(last.status).toBe(402);
    expect(last.body.error!.code).toBe('quota_exhausted');
    const usage = await call(t.baseUrl, 'GET', '/v1/usage', { key: created.body.key });
    expect(usage.body.used_tokens).toBe(told);
  });

  it('answers x-cache: bypass (pass-through answers are not cached)', async () => {
    const res = await call(t.baseUrl, 'POST', '/v1/responses', {
      key: t.adminKey,
      body: { model: 'resp', input: 'hi', temperature: 0 },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache')).toBe('bypass');
    expect(res.body.id).toMatch(/^resp_/);
  });

  it('passes an upstream 400 through with its code and param', async () => {
    upstream.enqueue({
      kind: 'status',
      status: 400,
      code: 'invalid_value',
      param: 'reasoning.effort',
      message: 'bad effort',
    });
    const err = await client.responses.create({ model: 'resp', input: 'hi' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err).toMatchObject({ status: 400, code: 'invalid_value', param: 'reasoning.effort' });
    expect((await logs()).at(-1)).toMatchObject({ status: 400 });
  });

  it('relays an upstream response.failed mid-stream and records the failure', async () => {
    upstream.enqueue({ kind: 'failed' });
    const res = await fetch(`${t.baseUrl}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminKey}` },
      body: JSON.stringify({ model: 'resp', input: 'hi', stream: true }),
    });
    const text = await res.text();
    const events = text
      .split('\n\n')
      .filter(Boolean)
      .map((block) => block.split('\n'));
    expect(events[0][0]).toBe('event: response.created');
    expect(events.at(-1)![0]).toBe('event: response.failed');
    expect(JSON.parse(events.at(-1)![1].slice('data: '.length)).response).toMatchObject({
      model: 'resp',
      status: 'failed',
    });
    expect(text).not.toContain('data: [DONE]');
    const metrics = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/llm_upstream_requests_total\{model="resp",outcome="success"\} [1-9]/);
    expect(metrics).toMatch(/llm_upstream_requests_total\{model="resp",outcome="error"\} [1-9]/);
    // Committed with a 200 status line: recorded as a stream that failed, as chat streams are.
    expect((await logs()).at(-1)).toMatchObject({ error_code: 'upstream_error', completion_tokens: 1 });
  });
});
