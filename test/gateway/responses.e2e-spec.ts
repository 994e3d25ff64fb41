import OpenAI from 'openai';
import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { tinyModelDir, writeModelsYaml } from '../helpers/model-fixtures';
import { call, startTestApp, type TestApp } from '../helpers/test-app';
import { InferenceLogWriter } from '../../src/usage/inference-log.writer';
import { queryDb } from '../helpers/test-database';

/** /v1/responses served by translation to chat completions: a local model and a chat-only upstream. */
describe('POST /v1/responses (translated to chat completions)', () => {
  let t: TestApp;
  let upstream: FakeOpenAIUpstream;
  let client: OpenAI;
  beforeAll(async () => {
    upstream = await FakeOpenAIUpstream.start({ deltas: ['Hello', ',', ' world', '!'] });
    const modelDir = await tinyModelDir();
    const yaml = writeModelsYaml(
      `default_model: tiny\nmodels:\n  - id: tiny\n    provider: onnx\n    path: ${modelDir}\n` +
        `  - id: remote\n    provider: http\n    base_url: ${upstream.baseUrl}\n    upstream_model: gpt-fake\n`,
    );
    t = await startTestApp({ MODELS_CONFIG: yaml });
    client = new OpenAI({ apiKey: t.adminKey, baseURL: `${t.baseUrl}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await t.close();
    await upstream.stop();
  });

  it('answers a Response object from the local model, with usage and the settings echoed', async () => {
    const r = await client.responses.create({
      model: 'tiny',
      instructions: 'Be brief.',
      input: 'hi',
      max_output_tokens: 8,
      temperature: 0,
      store: false,
      metadata: { case: 'local' },
    });
    expect(r.object).toBe('response');
    expect(r.id).toMatch(/^resp_/);
    expect(r.model).toBe('tiny');
    expect(['completed', 'incomplete']).toContain(r.status);
    expect(r.output).toHaveLength(1);
    const msg = r.output[0] as OpenAI.Responses.ResponseOutputMessage;
    expect(msg).toMatchObject({ type: 'message', role: 'assistant', id: expect.stringMatching(/^msg_/) });
    expect(msg.content[0]).toMatchObject({ type: 'output_text', annotations: [] });
    expect(r.output_text).toBe((msg.content[0] as OpenAI.Responses.ResponseOutputText).text);
    expect(r.usage!.output_tokens).toBeGreaterThan(0);
    expect(r.usage!.output_tokens).toBeLessThanOrEqual(8);
    expect(r.usage!.total_tokens).toBe(r.usage!.input_tokens + r.usage!.output_tokens);
    expect(r.usage!.input_tokens_details.cached_tokens).toBe(0);
    expect(r).toMatchObject({
      instructions: 'Be brief.',
      max_output_tokens: 8,
      temperature: 0,
      store: false,
      metadata: { case: 'local' },
    });
    if (r.status === 'incomplete') expect(r.incomplete_details).toEqual({ reason: 'max_output_tokens' });
  });

  it('streams typed events that the SDK accumulates into the same Response as the non-streamed one', async () => {
    const body = {
      model: 'tiny',
      input: [{ role: 'user' as const, content: 'stream me' }],
      max_output_tokens: 10,
      temperature: 0,
    };
    const whole = await client.responses.create(body);
    const stream = client.responses.stream(body);
    const types: string[] = [];
    const seqs: number[] = [];
    let deltas = '';
    for await (const ev of stream) {
      types.push(ev.type);
      seqs.push(ev.sequence_number);
      if (ev.type === 'response.output_text.delta') deltas += ev.delta;
    }
    const final = await stream.finalResponse();
    expect(types.slice(0, 4)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
    ]);
    expect(types.slice(-4)).toEqual([
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      whole.status === 'incomplete' ? 'response.incomplete' : 'response.completed',
    ]);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    expect(deltas).toBe(whole.output_text);
    expect(final.output_text).toBe(whole.output_text);
    // Ids and times differ between the two requests; `parsed` fields are the SDK's own (stream only).
    const strip = (r: OpenAI.Responses.Response) =>
      JSON.parse(
        JSON.stringify(
          { ...r, id: 0, created_at: 0, output_parsed: undefined, output: r.output.map((o) => ({ ...o, id: 0 })) },
          (k, v) => (k === 'parsed' ? undefined : v),
        ),
      );
    expect(strip(final)).toEqual(strip(whole));
    expect(final.id).toMatch(/^resp_/);
  });

  it('serves a chat-only upstream by translation, streaming and not, and logs the endpoint', async () => {
    const r = await client.responses.create({ model: 'remote', input: 'say hello', max_output_tokens: 5 });
    expect(r.output_text).toBe('Hello, world!');
    expect(r.model).toBe('remote');
    const sent = upstream.requests.filter((q) => q.path.endsWith('/chat/completions')).at(-1)!.body!;
    expect(sent).toMatchObject({
      model: 'gpt-fake',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'say hello' }],
    });
    expect(sent).not.toHaveProperty('input');
    const stream = client.responses.stream({ model: 'remote', input: 'say hello', max_output_tokens: 5 });
    const final = await stream.finalResponse();
    expect(final.output_text).toBe('Hello, world!');
    expect(final.usage).toEqual(r.usage);
    await t.running.app.get(InferenceLogWriter).flush();
    const rows = await queryDb<{ status: number }>(
      t.dbUrl,
      `SELECT endpoint, model, status FROM inference_logs WHERE endpoint = '/v1/responses' AND model = 'remote'`,
    );
    expect(rows).toHaveLength(2);
    expect(rows.every((row: { status: number }) => row.status === 200)).toBe(true);
  });

  it('translates instructions, tools, tool_choice, text.format and function call items into the chat request', async () => {
    await client.responses.create({
      model: 'remote',
      instructions: 'You are terse.',
      input: [
        { role: 'user', content: [{ type: 'input_text', text: 'weather in Paris?' }] },
        { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call_output', call_id: 'call_1', output: '{"temp":21}' },
      ],
      tools: [
        {
          type: 'function',
          name: 'get_weather',
          description: 'Weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
          strict: false,
        },
      ],
      tool_choice: { type: 'function', name: 'get_weather' },
      parallel_tool_calls: false,
      text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true } },
      reasoning: { effort: 'low' },
    });
    const sent = upstream.requests.filter((q) => q.path.endsWith('/chat/completions')).at(-1)!.body!;
    expect(sent.messages).toEqual([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: [{ type: 'text', text: 'weather in Paris?' }] },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
    ]);
    expect(sent.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
          strict: false,
        },
      },
    ]);
    expect(sent.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } });
    expect(sent.parallel_tool_calls).toBe(false);
    expect(sent.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'answer', schema: { type: 'object' }, strict: true },
    });
    expect(sent.reasoning_effort).toBe('low');
  });

  it('caches a deterministic request like chat and replays it (whole and streamed); the logs hear what the client was told', async () => {
    const body = { model: 'tiny', input: 'cache me', max_output_tokens: 6, temperature: 0 };
    const a = await call(t.baseUrl, 'POST', '/v1/responses', { key: t.adminKey, body });
    const b = await call(t.baseUrl, 'POST', '/v1/responses', { key: t.adminKey, body });
    expect([a.headers.get('x-cache'), b.headers.get('x-cache')]).toEqual(['miss', 'hit']);
    expect(b.body.output[0].content).toEqual(a.body.output[0].content);
    expect(b.body.usage).toEqual(a.body.usage);
    expect(b.body.id).not.toBe(a.body.id);
    const streamed = await client.responses.stream(body).finalResponse();
    expect(streamed.output_text).toBe(a.body.output[0].content[0].text);
    await t.running.app.get(InferenceLogWriter).flush();
    const ids = [a.headers.get('x-request-id'), b.headers.get('x-request-id')];
    const rows = await queryDb<{ prompt_tokens: number; completion_tokens: number; cached: boolean }>(
      t.dbUrl,
      `SELECT prompt_tokens, completion_tokens, cached FROM inference_logs WHERE request_id = ANY($1) ORDER BY created_at`,
      [ids],
    );
    expect(rows).toEqual([
      { prompt_tokens: a.body.usage.input_tokens, completion_tokens: a.body.usage.output_tokens, cached: false },
      { prompt_tokens: b.body.usage.input_tokens, completion_tokens: b.body.usage.output_tokens, cached: true },
    ]);
  });

  it('resolves item_reference to an item of an earlier answer of the same key, and only that key', async () => {
    const first = await client.responses.create({ model: 'remote', input: 'hi' });
    const ref = { type: 'item_reference' as const, id: first.output[0].id! };
    const input = [{ role: 'user' as const, content: 'hi' }, ref, { role: 'user' as const, content: 'again' }];
    await client.responses.create({ model: 'remote', input });
    expect(upstream.requests.at(-1)!.body!.messages).toEqual([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'Hello, world!' },
      { role: 'user', content: 'again' },
    ]);
    const other = await call(t.baseUrl, 'POST', '/admin/keys', { key: t.adminKey, body: { label: 'other' } });
    const refused = await call(t.baseUrl, 'POST', '/v1/responses', {
      key: other.body.key,
      body: { model: 'remote', input },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'unsupported_parameter', param: 'input.1' });
  });

  it('is described in the OpenAPI document (body, answer, errors)', async () => {
    const doc = (await call(t.baseUrl, 'GET', '/docs-json')).body;
    const op = doc.paths['/v1/responses'].post;
    const props = op.requestBody.content['application/json'].schema.properties;
    expect(Object.keys(props)).toEqual(
      expect.arrayContaining(['input', 'instructions', 'tools', 'text', 'max_output_tokens', 'stream']),
    );
    expect(op.responses['200'].content['application/json'].schema.properties.output).toBeDefined();
    expect(op.responses['400'].description).toContain('unsupported_parameter');
  });
});
