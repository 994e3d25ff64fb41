import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { writeModelsYaml } from '../helpers/model-fixtures';
import { nChoicesAnswer, textCompletionAnswer, usageWithDetails } from '../helpers/openai-answers';
import { call, startTestApp, type TestApp } from '../helpers/test-app';
import { createKey, readBooks, removeModelsYaml } from './books';

type Obj = Record<string, any>;

/**
 * `n` and `best_of` (docs/limits.md): every choice generates up to the cap, so the quota and
 * token-rate reservations cover them all, and a key cannot overspend by asking for many.
 */
describe('choices accounting: n and best_of are reserved and charged in full', () => {
  let t: TestApp;
  let upstream: FakeOpenAIUpstream;
  let yaml: string;

  beforeAll(async () => {
    // An upstream that uses every token it is allowed, for every choice it is asked for.
    upstream = await FakeOpenAIUpstream.start({
      answer: (body) => {
        const n = Number(body.n ?? 1);
        const cap = Number(body.max_tokens);
        const prompt = typeof body.prompt === 'string';
        const usage = usageWithDetails(5, Math.max(n, Number(body.best_of ?? 1)) * cap);
        const texts = Array.from({ length: n }, (_, i) => `choice ${i}`);
        return prompt ? textCompletionAnswer(texts, usage) : nChoicesAnswer(texts, usage);
      },
    });
    yaml = writeModelsYaml(
      `default_model: remote\nmodels:\n  - id: remote\n    provider: http\n    base_url: ${upstream.baseUrl}\n    max_retries: 0\n`,
    );
    t = await startTestApp({ MODELS_CONFIG: yaml });
  });
  afterAll(async () => {
    await t.close();
    await upstream.stop();
    removeModelsYaml(yaml);
  });

  it('a key cannot overspend its quota with n = 4 under concurrency', async () => {
    const quota = 2_000;
    const { key, id } = await createKey(t, { quota_tokens: quota, tpm: 1_000_000 });
    const body = {
      model: 'remote',
      messages: [{ role: 'user', content: 'hi' }],
      n: 4,
      max_tokens: 100,
      temperature: 1,
    };
    const seen = upstream.completionRequests.length;
    const results = await Promise.all(
      Array.from({ length: 12 }, () => call(t.baseUrl, 'POST', '/v1/chat/completions', { key, body })),
    );
    const ok = results.filter((r) => r.status === 200);
    expect(results.every((r) => r.status === 200 || r.status === 402)).toBe(true);
    expect(ok.length).toBeGreaterThan(0);
    expect(ok.length).toBeLessThan(12);
    const told = ok.reduce((n, r) => n + r.body.usage.total_tokens, 0);
    const books = await readBooks([t], id);
    expect(books.ledger).toBeLessThanOrEqual(quota);
    expect(books).toMatchObject({ ledger: told, usageDaily: told, logs: told, reserved: 0 });
    for (const r of ok) expect(r.body.choices).toHaveLength(4);
    // Each choice's cap is what the quota left divided between the four (never above the client's).
    const caps = upstream.completionRequests.slice(seen).map((r) => r.body!.max_tokens as number);
    expect(caps.every((c) => c >= 1 && c <= 100)).toBe(true);
  });

  it('a lowered cap is shared between the choices; too little left for one token each is 402', async () => {
    const { key, id } = await createKey(t, { quota_tokens: 60, tpm: 1_000_000 });
    const body = { model: 'remote', messages: [{ role: 'user', content: 'hi' }], n: 4, max_tokens: 100 };
    const res = await call(t.baseUrl, 'POST', '/v1/chat/completions', { key, body });
    expect(res.status).toBe(200);
    const cap = upstream.completionRequests.at(-1)!.body!.max_tokens as number;
    expect(cap).toBeLessThan(100 / 4);
    expect(res.body.usage.completion_tokens).toBe(4 * cap);
    const books = await readBooks([t], id);
    expect(books.ledger).toBeLessThanOrEqual(60);
    const again = await call(t.baseUrl, 'POST', '/v1/chat/completions', { key, body });
    expect(again.status).toBe(402);
  });

  it('legacy completions: best_of is reserved and charged, every choice comes back, streamed and not', async () => {
    const { key, id } = await createKey(t, { quota_tokens: 100_000, tpm: 1_000_000 });
    const body = { model: 'remote', prompt: 'once', n: 2, best_of: 3, max_tokens: 10 };
    const res = await call(t.baseUrl, 'POST', '/v1/completions', { key, body });
    expect(res.status).toBe(200);
    expect(res.body.object).toBe('text_completion');
    expect(res.body.choices.map((c: Obj) => c.text)).toEqual(['choice 0', 'choice 1']);
    expect(res.body.usage.completion_tokens).toBe(30);
    const stream = await fetch(`${t.baseUrl}/v1/completions`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, stream: true }),
    });
    const chunks = (await stream.text())
      .split('\n')
      .filter((l) => l.startsWith('data: {'))
      .map((l) => JSON.parse(l.slice(6)) as Obj);
    const texts = ['', ''];
    for (const c of chunks) for (const ch of c.choices) texts[ch.index] += ch.text;
    expect(texts).toEqual(['choice 0', 'choice 1']);
    expect(chunks.every((c) => c.object === 'text_completion' && !('usage' in c))).toBe(true);
    const books = await readBooks([t], id);
    expect(books).toMatchObject({ ledger: 70, usageDaily: 70, logs: 70 });
  });
});
