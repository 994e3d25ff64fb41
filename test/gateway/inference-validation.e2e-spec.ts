import { tinyModelDir, writeModelsYaml } from '../helpers/model-fixtures';
import { call, startTestApp, type TestApp } from '../helpers/test-app';

describe('inference endpoints: input validation and model access', () => {
  let t: TestApp;
  let limitedKey: string;
  beforeAll(async () => {
    const dir = await tinyModelDir();
    const yaml = writeModelsYaml(
      `default_model: tiny\nmodels:\n  - id: tiny\n    provider: onnx\n    path: ${dir}\n    aliases: [small]\n  - id: other\n    provider: onnx\n    path: ${dir}\n`,
    );
    t = await startTestApp({ MODELS_CONFIG: yaml, MAX_PROMPT_CHARS: '200', MAX_BODY_BYTES: '20000' });
    const r = await call(t.baseUrl, 'POST', '/admin/keys', {
      key: t.adminKey,
      body: { label: 'limited', allowed_models: ['other'] },
    });
    limitedKey = r.body.key;
  });
  afterAll(() => t.close());

  const msgs = [{ role: 'user', content: 'hi' }];
  const cases: [string, unknown, string | null][] = [
    ['/v1/generate', {}, 'prompt'],
    ['/v1/generate', { prompt: 5 }, 'prompt'],
    ['/v1/generate', { prompt: 'x', max_tokens: 0 }, 'max_tokens'],
    ['/v1/generate', { prompt: 'x', max_tokens: 1.5 }, 'max_tokens'],
    ['/v1/generate', { prompt: 'x', temperature: 3 }, 'temperature'],
    ['/v1/generate', { prompt: 'x', temperature: '0' }, 'temperature'],
    ['/v1/generate', { prompt: 'x', top_p: 0 }, 'top_p'],
    ['/v1/generate', { prompt: 'x', top_k: -1 }, 'top_k'],
    ['/v1/generate', { prompt: 'x', stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    ['/v1/generate', { prompt: 'x', stop: [''] }, 'stop.0'],
    ['/v1/generate', { prompt: 'x', seed: 'abc' }, 'seed'],
    ['/v1/generate', { prompt: 'x', stream: 'yes' }, 'stream'],
    ['/v1/generate', { prompt: 'x', bogus: 1 }, 'bogus'],
    ['/v1/chat/completions', {}, 'messages'],
    ['/v1/chat/completions', { messages: [] }, 'messages'],
    ['/v1/chat/completions', { messages: [{ role: 'wizard', content: 'x' }] }, 'messages.0.role'],
    ['/v1/chat/completions', { messages: msgs, max_completion_tokens: -1 }, 'max_completion_tokens'],
    ['/v1/chat/completions', { messages: msgs, stream_options: { include_usage: true } }, 'stream_options'],
    ['/v1/chat/completions', { messages: msgs, presence_penalty: 5 }, 'presence_penalty'],
    ['/v1/completions', {}, 'prompt'],
  ];

  it.each(cases)('POST %s %j → 400 invalid_request with param %s', async (path, body, param) => {
    const r = await call(t.baseUrl, 'POST', path, { key: t.adminKey, body });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
    expect(r.body.error.param).toBe(param);
  });

  it('says what `stop` takes when it gets more than OpenAI allows', async () => {
    const r = await call(t.baseUrl, 'POST', '/v1/chat/completions', {
      key: t.adminKey,
      body: { messages: msgs, stop: ['a', 'b', 'c', 'd', 'e'] },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe(
      'stop: expected a string or a list of up to 4 strings, each of 1 to 500 characters',
    );
  });

  // Valid OpenAI fields a local model cannot honour: refused by name, never ignored (docs/api.md).
  const unsupported: [string, unknown, string][] = [
    [
      '/v1/chat/completions',
      { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] },
      'messages.0.content.0',
    ],
    ['/v1/chat/completions', { messages: msgs, tools: [{ type: 'function' }] }, 'tools.0'],
    [
      '/v1/chat/completions',
      {
        messages: msgs,
        response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', pattern: 'a+' } } },
      },
      'response_format',
    ],
    ['/v1/completions', { prompt: 'x', echo: true }, 'echo'],
    ['/v1/completions', { prompt: 'x', best_of: 3 }, 'best_of'],
  ];

  it.each(unsupported)(
    'POST %s %j to a local model → 400 unsupported_parameter with param %s',
    async (path, body, param) => {
      const r = await call(t.baseUrl, 'POST', path, { key: t.adminKey, body });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('unsupported_parameter');
      expect(r.body.error.param).toBe(param);
    },
  );

  it('refuses malformed JSON and non-object bodies with 400, never 500', async () => {
    for (const path of ['/v1/generate', '/v1/chat/completions', '/v1/completions']) {
      const r = await call(t.baseUrl, 'POST', path, { key: t.adminKey, rawBody: '{"prompt":' });
      expect(r.status).toBe(400);
      const arr = await call(t.baseUrl, 'POST', path, { key: t.adminKey, rawBody: '[]' });
      expect(arr.status).toBe(400);
      const nul = await call(t.baseUrl, 'POST', path, { key: t.adminKey, rawBody: 'null' });
      expect(nul.status).toBe(400);
    }
  });

  it('refuses prompts over MAX_PROMPT_CHARS and bodies over MAX_BODY_BYTES with 413', async () => {
    const long = await call(t.baseUrl, 'POST', '/v1/generate', { key: t.adminKey, body: { prompt: 'x'.repeat(201) } });
    expect(long.status).toBe(413);
    expect(long.body.error.code).toBe('request_too_large');
    expect(long.body.error.param).toBe('prompt');
    const chat = await call(t.baseUrl, 'POST', '/v1/chat/completions', {
      key: t.adminKey,
      body: {
        messages: [
          { role: 'user', content: 'y'.repeat(150) },
          { role: 'user', content: 'y'.repeat(60) },
        ],
      },
    });
    expect(chat.status).toBe(413);
    const huge = await call(t.baseUrl, 'POST', '/v1/generate', {
      key: t.adminKey,
      body: { prompt: 'z'.repeat(30_000) },
    });
    expect(huge.status).toBe(413);
  });

  it('caps max_tokens by the context: a prompt that leaves no room is invalid_request', async () => {
    // The byte-vocabulary test model has a 512-token context; 200 chars ≈ 200 tokens fits, so shrink via a huge max_tokens instead.
    const r = await call(t.baseUrl, 'POST', '/v1/generate', {
      key: t.adminKey,
      body: { prompt: 'abc', max_tokens: 1_000_000, temperature: 0 },
    });
    expect(r.status).toBe(200);
    expect(r.body.usage.prompt_tokens + r.body.usage.completion_tokens).toBeLessThanOrEqual(512);
  });

  it('restricts a key to its allowed models, in calls and in /v1/models', async () => {
    const denied = await call(t.baseUrl, 'POST', '/v1/generate', {
      key: limitedKey,
      body: { prompt: 'x', model: 'tiny', max_tokens: 1 },
    });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('model_not_allowed');
    const byDefault = await call(t.baseUrl, 'POST', '/v1/generate', {
      key: limitedKey,
      body: { prompt: 'x', max_tokens: 1 },
    });
    expect(byDefault.body.error.code).toBe('model_not_allowed');
    const ok = await call(t.baseUrl, 'POST', '/v1/generate', {
      key: limitedKey,
      body: { prompt: 'x', model: 'other', max_tokens: 1 },
    });
    expect(ok.status).toBe(200);
    const list = await call(t.baseUrl, 'GET', '/v1/models', { key: limitedKey });
    expect(list.body.data.map((m: { id: string }) => m.id)).toEqual(['other']);
    const hidden = await call(t.baseUrl, 'GET', '/v1/models/tiny', { key: limitedKey });
    expect(hidden.status).toBe(404);
    expect(hidden.body.error.code).toBe('model_not_found');
  });

  it('resolves aliases and answers with the model that served', async () => {
    const r = await call(t.baseUrl, 'POST', '/v1/generate', {
      key: t.adminKey,
      body: { prompt: 'x', model: 'small', max_tokens: 1 },
    });
    expect(r.status).toBe(200);
    expect(r.body.model).toBe('tiny');
  });
});
