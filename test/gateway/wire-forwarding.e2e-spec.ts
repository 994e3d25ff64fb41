import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { tinyModelDir, writeModelsYaml } from '../helpers/model-fixtures';
import { call, startTestApp, type TestApp } from '../helpers/test-app';

/** Every Chat Completions field of the wire-fidelity list (docs/api.md), with non-default values. */
const CHAT_FIELDS = {
  tools: [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'w',
        parameters: { type: 'object', properties: { city: { type: 'string' } } },
        strict: true,
      },
    },
  ],
  tool_choice: { type: 'function', function: { name: 'get_weather' } },
  parallel_tool_calls: false,
  functions: [{ name: 'legacy', parameters: { type: 'object' } }],
  function_call: 'auto',
  response_format: {
    type: 'json_schema',
    json_schema: { name: 'out', strict: true, schema: { type: 'object', properties: { a: { type: 'string' } } } },
  },
  logprobs: true,
  top_logprobs: 3,
  n: 2,
  seed: 7,
  stop: ['END'],
  presence_penalty: 0.5,
  frequency_penalty: -0.5,
  logit_bias: { '50256': -100 },
  max_tokens: 40,
  max_completion_tokens: 30,
  temperature: 0.3,
  top_p: 0.9,
  user: 'u-1',
  metadata: { app: 'x' },
  store: true,
  service_tier: 'flex',
  reasoning_effort: 'low',
  verbosity: 'high',
  prediction: { type: 'content', content: 'guess' },
  modalities: ['text', 'audio'],
  audio: { voice: 'alloy', format: 'wav' },
  web_search_options: { search_context_size: 'low' },
  safety_identifier: 'sid',
  prompt_cache_key: 'pck',
};

const MESSAGES = [
  { role: 'developer', content: 'be brief' },
  {
    role: 'user',
    name: 'ann',
    content: [
      { type: 'text', text: 'what is this?' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } },
      { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } },
      { type: 'file', file: { file_id: 'file-1' } },
    ],
  },
  {
    role: 'assistant',
    content: null,
    refusal: null,
    tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
  },
  { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
];

describe('wire forwarding: requests reach remote models whole', () => {
  let t: TestApp;
  let upstream: FakeOpenAIUpstream;
  const post = (path: string, body: Record<string, unknown>) =>
    call(t.baseUrl, 'POST', path, { key: t.adminKey, body });
  /** The body the upstream saw for the last request, and the one it should have seen. */
  const lastBody = () => upstream.requests[upstream.requests.length - 1]!.body!;

  beforeAll(async () => {
    upstream = await FakeOpenAIUpstream.start({ deltas: ['ok'] });
    const dir = await tinyModelDir();
    const remote = (id: string, extra: string) =>
      `  - id: ${id}\n    provider: http\n    base_url: ${upstream.baseUrl}\n    upstream_model: up-${id}\n    max_retries: 0\n${extra}`;
    const yaml =
      `default_model: tiny\nmodels:\n  - id: tiny\n    provider: onnx\n    path: ${dir}\n` +
      remote('fwd', '') +
      remote('dropper', '    params: drop\n    drop_params: [store, service_tier]\n') +
      remote('strict', '    params: strict\n') +
      remote('reasoner', '    max_tokens_field: max_completion_tokens\n    default_max_tokens: 2000\n');
    t = await startTestApp({ MODELS_CONFIG: writeModelsYaml(yaml), CACHE_MODE: 'off' });
  });
  afterAll(async () => {
    await t.close();
    await upstream.stop();
  });

  it('forwards every chat field and message shape as sent, only model replaced (not streamed)', async () => {
    const sent = { model: 'fwd', messages: MESSAGES, ...CHAT_FIELDS, some_new_param: { x: [1, 2] } };
    const res = await post('/v1/chat/completions', sent);
    expect(res.status).toBe(200);
    expect(lastBody()).toEqual({ ...sent, model: 'up-fwd' });
  });

  it('forwards the same when streamed, adding include_usage to the client stream_options', async () => {
    const sent = {
      model: 'fwd',
      messages: MESSAGES,
      ...CHAT_FIELDS,
      stream: true,
      stream_options: { include_obfuscation: false },
    };
    const res = await post('/v1/chat/completions', sent);
    expect(res.status).toBe(200);
    expect(lastBody()).toEqual({
      ...sent,
      model: 'up-fwd',
      stream_options: { include_obfuscation: false, include_usage: true },
    });
  });

  it('never rewrites max_tokens into max_completion_tokens or back', async () => {
    await post('/v1/chat/completions', {
      model: 'fwd',
      messages: [{ role: 'user', content: 'hi' }],
      max_completion_tokens: 9,
    });
    expect(lastBody()).toEqual({
      model: 'up-fwd',
      messages: [{ role: 'user', content: 'hi' }],
      max_completion_tokens: 9,
    });
    await post('/v1/chat/completions', { model: 'fwd', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 });
    expect(lastBody()).toEqual({ model: 'up-fwd', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 });
  });

  it('adds no cap the client did not send, unless a finite quota needs the bound (then in max_tokens_field)', async () => {
    const hi = [{ role: 'user', content: 'hi' }];
    // The admin key has no quota: the upstream's own default applies, as if called directly.
    await post('/v1/chat/completions', { model: 'fwd', messages: hi });
    expect(lastBody()).toEqual({ model: 'up-fwd', messages: hi });
    const limited = await call(t.baseUrl, 'POST', '/admin/keys', {
      key: t.adminKey,
      body: { label: 'capped', quota_tokens: 100_000 },
    });
    const asLimited = (body: Record<string, unknown>) =>
      call(t.baseUrl, 'POST', '/v1/chat/completions', { key: limited.body.key, body });
    expect((await asLimited({ model: 'fwd', messages: hi })).status).toBe(200);
    expect(lastBody()).toEqual({ model: 'up-fwd', messages: hi, max_tokens: 512 });
    // models.yaml default_max_tokens and max_tokens_field (OpenAI's reasoning models take only the latter).
    expect((await asLimited({ model: 'reasoner', messages: hi })).status).toBe(200);
    expect(lastBody()).toEqual({ model: 'up-reasoner', messages: hi, max_completion_tokens: 2000 });
  });

  it('forwards legacy completions: prompt lists, n, echo, suffix, best_of, logprobs', async () => {
    const sent = {
      model: 'fwd',
      prompt: ['one', 'two'],
      n: 2,
      echo: true,
      suffix: ' tail',
      best_of: 3,
      logprobs: 2,
      max_tokens: 5,
      seed: 1,
    };
    const res = await post('/v1/completions', sent);
    expect(res.status).toBe(200);
    expect(lastBody()).toEqual({ ...sent, model: 'up-fwd' });
    const ids = { model: 'fwd', prompt: [[1, 2, 3]], max_tokens: 5 };
    expect((await post('/v1/completions', ids)).status).toBe(200);
    expect(lastBody()).toEqual({ ...ids, model: 'up-fwd' });
  });

  it('params: drop removes unknown fields; drop_params removes the named ones', async () => {
    const sent = {
      model: 'dropper',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 4,
      store: true,
      service_tier: 'flex',
      seed: 3,
      brand_new: 1,
    };
    expect((await post('/v1/chat/completions', sent)).status).toBe(200);
    expect(lastBody()).toEqual({
      model: 'up-dropper',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 4,
      seed: 3,
    });
  });

  it('params: strict answers 400 naming the first unknown field, and forwards known ones', async () => {
    const before = upstream.requests.length;
    const res = await post('/v1/chat/completions', {
      model: 'strict',
      messages: [{ role: 'user', content: 'hi' }],
      brand_new: 1,
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', param: 'brand_new' });
    expect(upstream.requests.length).toBe(before);
    const ok = await post('/v1/chat/completions', {
      model: 'strict',
      messages: [{ role: 'user', content: 'hi' }],
      tools: CHAT_FIELDS.tools,
      max_tokens: 4,
    });
    expect(ok.status).toBe(200);
    expect(lastBody().tools).toEqual(CHAT_FIELDS.tools);
  });

  describe('a local model', () => {
    const chat = (extra: Record<string, unknown>, messages: unknown[] = [{ role: 'user', content: 'hi' }]) =>
      post('/v1/chat/completions', { model: 'tiny', messages, max_tokens: 2, temperature: 0, ...extra });

    it.each([
      // This model's template has no tool-call format: tools are refused, not ignored.
      ['tools', { tools: CHAT_FIELDS.tools }],
      ['audio', { audio: { voice: 'alloy', format: 'wav' } }],
      ['modalities', { modalities: ['text', 'audio'] }],
      ['brand_new', { brand_new: true }],
    ])('refuses %s with unsupported_parameter naming it and the model', async (param, extra) => {
      const res = await chat(extra);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'unsupported_parameter', param });
      expect(res.body.error.message).toContain('"tiny"');
    });

    it('refuses non-text content parts and tool messages, naming where they are', async () => {
      const image = await chat({}, [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'image_url', image_url: { url: 'x' } },
          ],
        },
      ]);
      expect(image.body.error).toMatchObject({ code: 'unsupported_parameter', param: 'messages.0.content.1' });
      const legacy = await chat({}, [{ role: 'function', name: 'f', content: '1' }]);
      expect(legacy.body.error).toMatchObject({ code: 'unsupported_parameter', param: 'messages.0.role' });
      const echo = await post('/v1/completions', { model: 'tiny', prompt: 'a', echo: true, max_tokens: 1 });
      expect(echo.body.error).toMatchObject({ code: 'unsupported_parameter', param: 'echo' });
    });

    it('accepts neutral values and informational fields', async () => {
      const res = await chat(
        {
          n: 1,
          logprobs: false,
          logit_bias: {},
          presence_penalty: 0,
          frequency_penalty: 0,
          tools: [],
          tool_choice: 'auto',
          response_format: { type: 'text' },
          parallel_tool_calls: true,
          user: 'u',
          metadata: { a: 'b' },
          store: false,
          service_tier: 'auto',
          prompt_cache_key: 'k',
          safety_identifier: 's',
          seed: 4,
        },
        [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
      );
      expect(res.status).toBe(200);
      expect(res.body.object).toBe('chat.completion');
      // The engine's own features (docs/local-models-api.md): answered, with tool messages rendered as text.
      const rich = await chat(
        {
          n: 2,
          logprobs: true,
          top_logprobs: 2,
          logit_bias: { '1': 5 },
          presence_penalty: 0.5,
          frequency_penalty: 0.5,
          response_format: { type: 'json_object' },
          max_tokens: 8,
        },
        MESSAGES.slice(2),
      );
      expect(rich.status).toBe(200);
      expect(rich.body.choices.map((c: { index: number }) => c.index)).toEqual([0, 1]);
      let reported = 0;
      for (const c of rich.body.choices) {
        expect(c.message.content.startsWith('{')).toBe(true);
        reported += c.logprobs.content.length;
      }
      // Every generated token but an end-of-sequence one (at most one per choice) is reported.
      expect(reported).toBeGreaterThanOrEqual(rich.body.usage.completion_tokens - 2);
      expect(reported).toBeLessThanOrEqual(rich.body.usage.completion_tokens);
      const text = await post('/v1/completions', {
        model: 'tiny',
        prompt: ['a'],
        echo: false,
        best_of: 1,
        n: 1,
        max_tokens: 1,
      });
      expect(text.status).toBe(200);
    });
  });
});
