import OpenAI from 'openai';
import { CacheStats } from '../../src/cache/cache-stats';
import { WireAccumulator } from '../../src/models/wire/wire-accumulator';
import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { writeModelsYaml } from '../helpers/model-fixtures';
import {
  logprobsAnswer,
  nChoicesAnswer,
  refusalAnswer,
  toolCallAnswer,
  usageWithDetails,
  type WholeAnswer,
} from '../helpers/openai-answers';
import { call, startTestApp, type TestApp } from '../helpers/test-app';
import { queryDb } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';
import { createKey, readBooks, removeModelsYaml } from '../limits/books';
import { InferenceLogWriter } from '../../src/usage/inference-log.writer';

type Obj = Record<string, any>;

const WEATHER = [
  { id: 'call_a', name: 'get_weather', arguments: { city: 'Paris' } },
  { id: 'call_b', name: 'get_time', arguments: { tz: 'Europe/Paris' } },
];
const TOOLS = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object' } } }];

/** What the client must get for `whole`: the same object, our id and model. */
const asServed = (whole: Obj, body: Obj) => ({ ...whole, id: body.id, model: 'remote' });

/** `whole` without what OpenAI does not stream (the fake leaves it out too). */
function streamable(whole: Obj): Obj {
  const out = structuredClone(whole);
  for (const c of out.choices) delete c.message?.annotations;
  return out;
}

function joined(chunks: Obj[]): Obj {
  const acc = new WireAccumulator();
  chunks.filter((c) => c.choices.length > 0).forEach((c) => acc.add(c));
  return acc.whole();
}

describe('wire answers: remote answers come back whole, and every token is counted', () => {
  let t: TestApp;
  let upstream: FakeOpenAIUpstream;
  let yaml: string;
  let client: OpenAI;
  let keyId: string;
  let next: WholeAnswer[] = [];

  beforeAll(async () => {
    upstream = await FakeOpenAIUpstream.start({
      answer: () => {
        const a = next.shift();
        if (!a) throw new Error('no answer scripted');
        return a;
      },
    });
    yaml = writeModelsYaml(
      `default_model: remote\nmodels:\n  - id: remote\n    provider: http\n    base_url: ${upstream.baseUrl}\n    max_retries: 0\n`,
    );
    t = await startTestApp({ MODELS_CONFIG: yaml, CACHE_MODE: 'deterministic' });
    const key = await createKey(t, { quota_tokens: 10_000_000, tpm: 10_000_000 });
    keyId = key.id;
    client = new OpenAI({ apiKey: key.key, baseURL: `${t.baseUrl}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await t.close();
    await upstream.stop();
    removeModelsYaml(yaml);
  });
  beforeEach(() => (next = []));

  async function logOf(requestId: string): Promise<Obj> {
    await t.running.app.get(InferenceLogWriter).flush();
    const rows = await queryDb(
      t.dbUrl,
      `SELECT finish_reason, prompt_tokens, completion_tokens, cached_prompt_tokens, reasoning_tokens, estimated_tokens
         FROM inference_logs WHERE request_id = $1`,
      [requestId],
    );
    return rows[0];
  }

  async function streamed(body: Obj): Promise<{ chunks: Obj[]; requestId: string }> {
    const { data, response } = await client.chat.completions
      .create({ model: 'remote', messages: [{ role: 'user', content: 'hi' }], ...body, stream: true } as never)
      .withResponse();
    const chunks: Obj[] = [];
    for await (const c of data as unknown as AsyncIterable<Obj>) chunks.push(c);
    return { chunks, requestId: response.headers.get('x-request-id')! };
  }

  it('passes parallel tool calls, usage details and system_fingerprint through, and charges that usage on every ledger', async () => {
    const whole = toolCallAnswer(WEATHER, usageWithDetails(40, 17, 32, 5));
    next = [whole];
    const before = await readBooks([t], keyId);
    const { data, response } = await client.chat.completions
      .create({ model: 'remote', messages: [{ role: 'user', content: 'weather?' }], tools: TOOLS, temperature: 0.7 })
      .withResponse();
    expect(data).toEqual(asServed(whole, data));
    expect(data.id).not.toBe(whole.id);
    expect(data.choices[0].message.tool_calls).toHaveLength(2);
    const log = await logOf(response.headers.get('x-request-id')!);
    expect(log).toEqual({
      finish_reason: 'tool_calls',
      prompt_tokens: 40,
      completion_tokens: 17,
      cached_prompt_tokens: 32,
      reasoning_tokens: 5,
      estimated_tokens: false,
    });
    const after = await readBooks([t], keyId);
    for (const k of ['ledger', 'usageDaily', 'logs'] as const) expect(after[k] - before[k]).toBe(57);
  });

  it('streams tool calls chunk by chunk with our id and model, and the upstream usage chunk when asked', async () => {
    const whole = toolCallAnswer(WEATHER, usageWithDetails(40, 17, 32, 5));
    next = [whole];
    const { chunks, requestId } = await streamed({ tools: TOOLS, stream_options: { include_usage: true } });
    const ids = new Set(chunks.map((c) => c.id));
    expect(ids.size).toBe(1);
    expect([...ids][0]).not.toBe(whole.id);
    expect(chunks.every((c) => c.model === 'remote' && c.system_fingerprint === 'fp_upstream')).toBe(true);
    const calls = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    expect(calls[0]).toEqual({
      index: 0,
      id: 'call_a',
      type: 'function',
      function: { name: 'get_weather', arguments: '' },
    });
    expect(calls.filter((c: Obj) => c.index === 0 && !c.id).length).toBeGreaterThan(1); // argument fragments
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual(whole.usage);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    const { usage: _u, ...rest } = streamable(whole);
    expect(joined(chunks)).toEqual({ ...rest, id: last.id, model: 'remote' });
    expect(await logOf(requestId)).toMatchObject({
      finish_reason: 'tool_calls',
      cached_prompt_tokens: 32,
      reasoning_tokens: 5,
    });
  });

  it('strips usage from a stream whose client did not ask for it (we asked the upstream for it)', async () => {
    next = [refusalAnswer('I cannot help with that.')];
    const { chunks } = await streamed({});
    expect(upstream.completionRequests.at(-1)!.body!.stream_options).toEqual({ include_usage: true });
    expect(chunks.some((c) => 'usage' in c || c.choices.length === 0)).toBe(false);
    expect(joined(chunks).choices[0].message.refusal).toBe('I cannot help with that.');
  });

  it('passes n = 2 with logprobs through, streamed and not, and never caches it', async () => {
    const two = nChoicesAnswer(['first', 'second'], usageWithDetails(12, 6));
    const lp = logprobsAnswer(['a', 'b'], 2, usageWithDetails(12, 2));
    two.choices[1].logprobs = lp.choices[0].logprobs;
    two.choices[1].message.content = 'ab';
    next = [two, two];
    const body = { n: 2, temperature: 0, logprobs: true, top_logprobs: 2 };
    const res = await call(t.baseUrl, 'POST', '/v1/chat/completions', {
      key: t.adminKey,
      body: { model: 'remote', messages: [{ role: 'user', content: 'n' }], ...body },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache')).toBe('bypass');
    expect(res.body).toEqual(asServed(two, res.body));
    const { chunks } = await streamed(body);
    const { usage: _u, ...rest } = streamable(two);
    expect(joined(chunks)).toEqual({ ...rest, id: chunks[0].id, model: 'remote' });
    expect(upstream.completionRequests.at(-1)!.body!.n).toBe(2);
  });

  it('estimates every choice, tool call and refusal when the upstream sends no usage, and says so to the client', async () => {
    const answer = toolCallAnswer(WEATHER);
    delete answer.usage;
    answer.choices.push({
      index: 1,
      message: { role: 'assistant', content: 'x'.repeat(400), refusal: null },
      logprobs: null,
      finish_reason: 'stop',
    });
    next = [answer];
    const { data, response } = await client.chat.completions
      .create({ model: 'remote', messages: [{ role: 'user', content: 'hi' }], n: 2, tools: TOOLS })
      .withResponse();
    // ~4 characters a token: the 400-character choice alone is 100 tokens, the tool calls more.
    expect(data.usage!.completion_tokens).toBeGreaterThan(100);
    const log = await logOf(response.headers.get('x-request-id')!);
    expect(log).toMatchObject({ estimated_tokens: true, completion_tokens: data.usage!.completion_tokens });
    expect(log.prompt_tokens).toBe(data.usage!.prompt_tokens);
  });

  it('streams the estimate as the usage chunk when the upstream streamed no usage (n = 2, tool calls)', async () => {
    const answer = toolCallAnswer(WEATHER);
    delete answer.usage;
    answer.choices.push({
      index: 1,
      message: { role: 'assistant', content: 'y'.repeat(200) },
      logprobs: null,
      finish_reason: 'stop',
    });
    next = [answer];
    const { chunks, requestId } = await streamed({ n: 2, tools: TOOLS, stream_options: { include_usage: true } });
    const usage = chunks.at(-1)!.usage;
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(usage.completion_tokens).toBeGreaterThan(50);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    expect(await logOf(requestId)).toMatchObject({
      estimated_tokens: true,
      prompt_tokens: usage.prompt_tokens,
      completion_tokens: usage.completion_tokens,
    });
    expect(joined(chunks).choices.map((c: Obj) => c.finish_reason)).toEqual(['tool_calls', 'stop']);
  });

  it('splits the whole answer of an upstream that ignored stream: true into chunks', async () => {
    const whole = toolCallAnswer(WEATHER, usageWithDetails(8, 4));
    next = [whole];
    upstream.enqueue({ kind: 'json' });
    const { chunks } = await streamed({ tools: TOOLS, stream_options: { include_usage: true } });
    expect(chunks.at(-1)!.usage).toEqual(whole.usage);
    const { usage: _u, ...rest } = whole;
    expect(joined(chunks)).toEqual({ ...rest, id: chunks[0].id, model: 'remote' });
  });

  it('caches a tool-call answer and replays it exactly, streamed and not', async () => {
    const whole = toolCallAnswer(WEATHER, usageWithDetails(21, 9, 0, 3));
    next = [whole];
    const body = { model: 'remote', messages: [{ role: 'user', content: 'cache me' }], tools: TOOLS, temperature: 0 };
    const first = await call(t.baseUrl, 'POST', '/v1/chat/completions', { key: t.adminKey, body });
    expect(first.headers.get('x-cache')).toBe('miss');
    // The store happens after the answer.
    await waitFor('the answer stored', async () => {
      const r = await queryDb<{ n: number }>(t.dbUrl, `SELECT count(*)::int AS n FROM completion_cache`);
      return r[0].n > 0;
    });
    const again = await call(t.baseUrl, 'POST', '/v1/chat/completions', { key: t.adminKey, body });
    expect(again.headers.get('x-cache')).toBe('hit');
    expect(again.body).toEqual({ ...first.body, id: again.body.id });
    const res = await fetch(`${t.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'x-api-key': t.adminKey, 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
    });
    expect(res.headers.get('x-cache')).toBe('hit');
    const chunks = (await res.text())
      .split('\n')
      .filter((l) => l.startsWith('data: {'))
      .map((l) => JSON.parse(l.slice(6)) as Obj);
    expect(chunks.at(-1)!.usage).toEqual(whole.usage);
    const { usage: _u, ...rest } = first.body;
    expect(joined(chunks)).toEqual({ ...rest, id: chunks[0].id });
    expect(upstream.completionRequests.filter((r) => JSON.stringify(r.body).includes('cache me'))).toHaveLength(1);
  });

  it('gives a non-streaming follower of a streamed computation the whole answer', async () => {
    const whole = toolCallAnswer(WEATHER, usageWithDetails(30, 12));
    next = [whole];
    upstream.enqueue({ kind: 'pause', afterDeltas: 3 });
    const body = { model: 'remote', messages: [{ role: 'user', content: 'follow' }], tools: TOOLS, temperature: 0 };
    const seen = upstream.completionRequests.length;
    const leader = streamed({ ...body, stream_options: { include_usage: true } });
    await waitFor('the leader upstream', () => upstream.completionRequests.length > seen);
    const stats = t.running.app.get(CacheStats);
    const coalesced = stats.counters.coalesced;
    const follower = call(t.baseUrl, 'POST', '/v1/chat/completions', { key: t.adminKey, body });
    await waitFor('the follower joined', () => stats.counters.coalesced > coalesced);
    upstream.resume();
    const [{ chunks }, f] = await Promise.all([leader, follower]);
    expect(f.headers.get('x-cache')).toBe('hit');
    expect(f.body).toEqual(asServed(streamable(whole), f.body));
    expect(chunks.at(-1)!.usage).toEqual(whole.usage);
  });
});
