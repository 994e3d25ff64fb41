import OpenAI, { AuthenticationError, NotFoundError } from 'openai';
import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { tinyModelDir, writeModelsYaml } from '../helpers/model-fixtures';
import { call, startTestApp, type TestApp } from '../helpers/test-app';

describe('the official openai client against the server', () => {
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

  it('lists models', async () => {
    const page = await client.models.list();
    expect(page.data.map((m) => m.id).sort()).toEqual(['remote', 'tiny']);
    const one = await client.models.retrieve('tiny');
    expect(one.object).toBe('model');
  });

  it('answers a chat completion from the local model', async () => {
    const r = await client.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 8,
      temperature: 0,
    });
    expect(r.object).toBe('chat.completion');
    expect(r.model).toBe('tiny');
    expect(typeof r.choices[0].message.content).toBe('string');
    expect(['stop', 'length']).toContain(r.choices[0].finish_reason);
    expect(r.usage!.completion_tokens).toBeGreaterThan(0);
    expect(r.usage!.completion_tokens).toBeLessThanOrEqual(8);
    expect(r.usage!.total_tokens).toBe(r.usage!.prompt_tokens + r.usage!.completion_tokens);
  });

  it('streams a chat completion with usage, and the stream equals the non-streamed text', async () => {
    const body = {
      model: 'tiny',
      messages: [{ role: 'user' as const, content: 'stream me' }],
      max_tokens: 12,
      temperature: 0,
    };
    const whole = await client.chat.completions.create(body);
    const stream = await client.chat.completions.create({
      ...body,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage;
    let finish;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content) text += chunk.choices[0].delta.content;
      if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(whole.choices[0].message.content);
    expect(finish).toBe(whole.choices[0].finish_reason);
    expect(usage).toEqual(whole.usage);
  });

  it('routes to the remote model, streaming and not', async () => {
    const r = await client.completions.create({ model: 'remote', prompt: 'say hello', max_tokens: 5 });
    expect(r.object).toBe('text_completion');
    expect(r.choices[0].text).toBe('Hello, world!');
    expect(upstream.completionRequests.at(-1)!.body!.model).toBe('gpt-fake');
    const stream = await client.chat.completions.create({
      model: 'remote',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const parts: string[] = [];
    let usage;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content) parts.push(chunk.choices[0].delta.content);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(parts.join('')).toBe('Hello, world!');
    expect(usage).toBeDefined();
  });

  it('raises NotFoundError with model_not_found for an unknown model', async () => {
    const err = await client.chat.completions
      .create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.code).toBe('model_not_found');
  });

  it('raises AuthenticationError for a bad key', async () => {
    const bad = new OpenAI({ apiKey: 'sk-wrong-wrong-wrong-wrong-wrong', baseURL: `${t.baseUrl}/v1`, maxRetries: 0 });
    await expect(bad.models.list()).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('serves /v1/generate with the documented shape, using the default model', async () => {
    const r = await call(t.baseUrl, 'POST', '/v1/generate', {
      key: t.adminKey,
      body: { prompt: 'abc', max_tokens: 4, temperature: 0 },
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual(
      expect.objectContaining({
        model: 'tiny',
        cached: false,
        finish_reason: expect.any(String),
        text: expect.any(String),
      }),
    );
    expect(r.body.usage.total_tokens).toBe(r.body.usage.prompt_tokens + r.body.usage.completion_tokens);
    expect(r.body.latency_ms).toBeGreaterThan(0);
    expect(r.headers.get('x-cache')).toMatch(/^(hit|miss|bypass)$/);
  });
});
