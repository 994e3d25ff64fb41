import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { tinyModelDir, writeModelsYaml } from '../helpers/model-fixtures';
import { call, startTestApp, type TestApp } from '../helpers/test-app';

/** The data payloads of an SSE response. */
async function sse(res: Response): Promise<string[]> {
  return (await res.text())
    .split('\n\n')
    .filter((b) => b.startsWith('data: '))
    .map((b) => b.slice(6));
}

describe('the completion cache through the HTTP API', () => {
  let t: TestApp;
  let upstream: FakeOpenAIUpstream;
  beforeAll(async () => {
    upstream = await FakeOpenAIUpstream.start({ deltas: ['cached', ' answer'], chunkDelayMs: 5 });
    const dir = await tinyModelDir();
    const yaml = writeModelsYaml(
      `default_model: tiny\nmodels:\n  - id: tiny\n    provider: onnx\n    path: ${dir}\n` +
        `  - id: remote\n    provider: http\n    base_url: ${upstream.baseUrl}\n`,
    );
    t = await startTestApp({ MODELS_CONFIG: yaml });
  });
  afterAll(async () => {
    await t.close();
    await upstream.stop();
  });
  const gen = (body: object, headers: Record<string, string> = {}) =>
    call(t.baseUrl, 'POST', '/v1/generate', { key: t.adminKey, body, headers });

  it('answers the same deterministic request from the cache, with an identical body', async () => {
    const body = { prompt: 'cache me', max_tokens: 6, temperature: 0 };
    const first = await gen(body);
    expect(first.headers.get('x-cache')).toBe('miss');
    expect(first.body.cached).toBe(false);
    const second = await gen(body);
    expect(second.headers.get('x-cache')).toBe('hit');
    expect(second.body.cached).toBe(true);
    expect(second.body.text).toBe(first.body.text);
    expect(second.body.usage).toEqual(first.body.usage);
    const sampled = await gen({ ...body, temperature: 0.7 });
    expect(sampled.headers.get('x-cache')).toBe('bypass');
    const noStore = await gen(body, { 'cache-control': 'no-store' });
    expect(noStore.headers.get('x-cache')).toBe('bypass');
  });

  it('calls the upstream once for 20 identical concurrent requests', async () => {
    const before = upstream.completionRequests.length;
    const body = { model: 'remote', prompt: 'coalesce', max_tokens: 5, temperature: 0 };
    const all = await Promise.all(Array.from({ length: 20 }, () => gen(body)));
    expect(all.every((r) => r.status === 200 && r.body.text === 'cached answer')).toBe(true);
    expect(upstream.completionRequests.length - before).toBe(1);
    expect(all.filter((r) => r.headers.get('x-cache') === 'miss')).toHaveLength(1);
  });

  it('replays a hit on a streaming request as valid SSE with usage', async () => {
    const body = { model: 'tiny', messages: [{ role: 'user', content: 'stream hit' }], max_tokens: 6, temperature: 0 };
    await call(t.baseUrl, 'POST', '/v1/chat/completions', { key: t.adminKey, body });
    const res = await fetch(`${t.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'x-api-key': t.adminKey, 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
    });
    expect(res.headers.get('x-cache')).toBe('hit');
    const events = await sse(res);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks.at(-1).usage.total_tokens).toBeGreaterThan(0);
  });

  it('does not store a stream cut by the upstream', async () => {
    upstream.enqueue({ kind: 'cut', afterDeltas: 1 });
    const body = { model: 'remote', prompt: 'cut me', max_tokens: 5, temperature: 0 };
    const cut = await fetch(`${t.baseUrl}/v1/generate`, {
      method: 'POST',
      headers: { 'x-api-key': t.adminKey, 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, stream: true }),
    });
    const events = await sse(cut);
    expect(JSON.parse(events.at(-1)!).error.code).toBe('upstream_error');
    const again = await gen(body);
    expect(again.status).toBe(200);
    expect(again.headers.get('x-cache')).toBe('miss');
  });
});
