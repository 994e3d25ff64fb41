import { createOpenAI, type OpenAIProvider } from '@ai-sdk/openai';
import { generateText, streamText } from 'ai';
import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { tinyModelDir, writeModelsYaml } from '../helpers/model-fixtures';
import { startTestApp, type TestApp } from '../helpers/test-app';

/** The Vercel AI SDK's default `openai(model)` speaks /v1/responses: a local model and a chat-only upstream. */
describe('the Vercel AI SDK default provider (Responses API) against the server', () => {
  let t: TestApp;
  let upstream: FakeOpenAIUpstream;
  let openai: OpenAIProvider;
  const sent: Array<Record<string, unknown>> = [];
  beforeAll(async () => {
    upstream = await FakeOpenAIUpstream.start({ deltas: ['Hello', ',', ' world', '!'] });
    const modelDir = await tinyModelDir();
    const yaml = writeModelsYaml(
      `default_model: tiny\nmodels:\n  - id: tiny\n    provider: onnx\n    path: ${modelDir}\n` +
        `  - id: remote\n    provider: http\n    base_url: ${upstream.baseUrl}\n`,
    );
    t = await startTestApp({ MODELS_CONFIG: yaml });
    // Records what the SDK sends, to prove it is the Responses API it speaks.
    const recording: typeof fetch = async (url, init) => {
      if (typeof init?.body === 'string') sent.push({ url: String(url), ...(JSON.parse(init.body) as object) });
      return fetch(url, init);
    };
    openai = createOpenAI({ baseURL: `${t.baseUrl}/v1`, apiKey: t.adminKey, fetch: recording });
  });
  afterAll(async () => {
    await t.close();
    await upstream.stop();
  });

  it('generateText and streamText on the local model agree', async () => {
    const args = { model: openai('tiny'), prompt: 'Say something.', maxOutputTokens: 8, temperature: 0, maxRetries: 0 };
    const r = await generateText(args);
    expect(sent.at(-1)).toMatchObject({ url: `${t.baseUrl}/v1/responses`, model: 'tiny', max_output_tokens: 8 });
    expect(typeof r.text).toBe('string');
    expect(r.usage.outputTokens).toBeGreaterThan(0);
    expect(r.usage.totalTokens).toBe(r.usage.inputTokens! + r.usage.outputTokens!);
    expect(r.response.id).toMatch(/^resp_/);
    expect(['stop', 'length']).toContain(r.finishReason);
    const s = streamText(args);
    expect(await s.text).toBe(r.text);
    expect((await s.usage).outputTokens).toBe(r.usage.outputTokens);
    expect(await s.finishReason).toBe(r.finishReason);
  });

  it('generateText and streamText through a chat-only upstream', async () => {
    const r = await generateText({ model: openai('remote'), system: 'Be nice.', prompt: 'Hi', maxRetries: 0 });
    expect(r.text).toBe('Hello, world!');
    expect(r.finishReason).toBe('stop');
    const chat = upstream.requests.at(-1)!.body!;
    expect(chat.messages).toEqual([
      { role: 'system', content: 'Be nice.' },
      { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
    ]);
    const s = streamText({ model: openai('remote'), prompt: 'Hi', maxRetries: 0 });
    const parts: string[] = [];
    for await (const p of s.textStream) parts.push(p);
    expect(parts.join('')).toBe('Hello, world!');
    expect(parts.length).toBeGreaterThan(1);
    expect((await s.usage).inputTokens).toBe(r.usage.inputTokens);
  });
});
