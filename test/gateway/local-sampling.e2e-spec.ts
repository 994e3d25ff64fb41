import type { ChatCompletion, ChatCompletionTokenLogprob } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { LocalApi, QWEN, tokenizerOf } from '../helpers/local-api';

/**
 * Sampling parity for local models (issue 15): n (shared prefill, a seed per choice), logprobs,
 * penalties, logit_bias, /v1/completions prompt arrays, in OpenAI's wire format. The fixture's
 * weights are random and small, so sampled answers run to max_tokens (finish_reason length) and
 * its greedy output repeats tokens.
 */

const messages = [{ role: 'user' as const, content: 'hello there' }];
const utf8 = new TextDecoder('utf-8', { fatal: true });
const lenient = new TextDecoder('utf-8');

/** Checks chat logprobs against the content they claim to spell. */
function expectLogprobsSpell(entries: ChatCompletionTokenLogprob[], content: string, top: number): void {
  // The bytes of the entries, joined and decoded, are the content (a token may hold part of a
  // character; random weights also sample byte sequences that are not UTF-8, which decode to U+FFFD).
  expect(lenient.decode(Uint8Array.from(entries.flatMap((e) => e.bytes!)))).toBe(content);
  let whole = true;
  for (const e of entries) {
    let text: string | undefined;
    try {
      text = utf8.decode(Uint8Array.from(e.bytes!));
    } catch {
      whole = false;
    }
    if (text !== undefined) expect(e.token).toBe(text);
    expect(e.logprob).toBeLessThanOrEqual(0);
    expect(e.top_logprobs).toHaveLength(top);
    const lps = e.top_logprobs.map((t) => t.logprob);
    expect(lps).toEqual([...lps].sort((a, b) => b - a));
    // The sampled token is never likelier than the likeliest one.
    expect(e.logprob).toBeLessThanOrEqual(lps[0]);
    const same = e.top_logprobs.find((t) => t.token === e.token);
    if (same) expect(same.logprob).toBeCloseTo(e.logprob, 6);
  }
  if (whole) expect(entries.map((e) => e.token).join('')).toBe(content);
  const sum = entries.reduce((s, e) => s + e.logprob, 0);
  expect(Number.isFinite(sum)).toBe(true);
  expect(sum).toBeLessThanOrEqual(0);
}

describe('sampling parity for a local model over the OpenAI API', () => {
  let api: LocalApi;
  beforeAll(async () => {
    api = await LocalApi.start();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('n = 3 returns three choices, a seed per choice, completion tokens summed, all charged', async () => {
    const body = { model: QWEN, messages, n: 3, temperature: 1, seed: 31, max_tokens: 10 };
    let r: ChatCompletion | undefined;
    await api.expectCharged(async () => {
      r = await api.client.chat.completions.create(body);
      return r.usage!;
    });
    expect(r!.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    for (const c of r!.choices) expect(c.finish_reason).toBe('length');
    expect(r!.usage!.completion_tokens).toBe(3 * 10);
    expect(r!.usage!.total_tokens).toBe(r!.usage!.prompt_tokens + r!.usage!.completion_tokens);
    // The prefill is shared, the prompt counted once.
    const single = await api.client.chat.completions.create({ ...body, n: 1 });
    expect(r!.usage!.prompt_tokens).toBe(single.usage!.prompt_tokens);
    expect(new Set(r!.choices.map((c) => c.message.content)).size).toBe(3);
    const again = await api.client.chat.completions.create(body);
    expect(again.choices.map((c) => c.message.content)).toEqual(r!.choices.map((c) => c.message.content));
  });

  it('logprobs with top_logprobs 3, greedy: one entry per token, spelling the content, the top entry chosen', async () => {
    const r = await api.client.chat.completions.create({
      model: QWEN,
      messages,
      temperature: 0,
      max_tokens: 12,
      logprobs: true,
      top_logprobs: 3,
    });
    const choice = r.choices[0];
    const entries = choice.logprobs!.content!;
    expect(choice.finish_reason).toBe('length');
    expect(entries).toHaveLength(r.usage!.completion_tokens);
    expectLogprobsSpell(entries, choice.message.content!, 3);
    for (const e of entries) {
      expect(e.token).toBe(e.top_logprobs[0].token);
      expect(e.logprob).toBeCloseTo(e.top_logprobs[0].logprob, 6);
    }
  });

  it('logprobs while sampling: entries spell the content and the sum is a finite log-probability', async () => {
    const r = await api.client.chat.completions.create({
      model: QWEN,
      messages,
      temperature: 1,
      seed: 8,
      max_tokens: 16,
      logprobs: true,
      top_logprobs: 3,
    });
    const entries = r.choices[0].logprobs!.content!;
    expect(entries).toHaveLength(r.usage!.completion_tokens);
    expectLogprobsSpell(entries, r.choices[0].message.content!, 3);
  });

  it('streamed and non-streamed answers are identical for a fixed seed (n = 2, logprobs)', async () => {
    const body = {
      model: QWEN,
      messages,
      n: 2,
      temperature: 1,
      seed: 42,
      max_tokens: 12,
      logprobs: true,
      top_logprobs: 2,
    };
    const whole = await api.client.chat.completions.create(body);
    const got = [0, 1].map(() => ({
      content: '',
      logprobs: [] as ChatCompletionTokenLogprob[],
      finish: null as string | null,
    }));
    let usage: CompletionUsage | undefined;
    // A stream of n choices is charged what its usage chunk says, every choice included.
    await api.expectCharged(async () => {
      const stream = await api.client.chat.completions.create({
        ...body,
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const chunk of stream) {
        for (const c of chunk.choices) {
          got[c.index].content += c.delta.content ?? '';
          got[c.index].logprobs.push(...(c.logprobs?.content ?? []));
          got[c.index].finish = c.finish_reason ?? got[c.index].finish;
        }
        if (chunk.usage) usage = chunk.usage;
      }
      return usage!;
    });
    expect(got).toEqual(
      whole.choices.map((c) => ({
        content: c.message.content,
        logprobs: c.logprobs!.content,
        finish: c.finish_reason,
      })),
    );
    expect(usage).toEqual(whole.usage);
  });

  it('/v1/completions: a prompt array of 2 with n = 2 gives 4 choices in OpenAI order, with logprobs', async () => {
    const prompts = ['The capital of France is', 'def fibonacci(n):'];
    const base = { model: QWEN, temperature: 0, max_tokens: 6 };
    const single = await Promise.all(prompts.map((prompt) => api.client.completions.create({ ...base, prompt })));
    expect(single[0].choices[0].text).not.toBe(single[1].choices[0].text);
    const r = await api.client.completions.create({ ...base, prompt: prompts, n: 2, logprobs: 2 });
    expect(r.object).toBe('text_completion');
    // OpenAI's order: the n choices of prompt 0, then those of prompt 1.
    expect(r.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    expect(r.choices.map((c) => c.text)).toEqual([0, 0, 1, 1].map((p) => single[p].choices[0].text));
    expect(r.usage!.prompt_tokens).toBe(single[0].usage!.prompt_tokens + single[1].usage!.prompt_tokens);
    expect(r.usage!.completion_tokens).toBe(4 * 6);
    for (const c of r.choices) {
      const lp = c.logprobs!;
      expect(lp.tokens).toHaveLength(6);
      expect(lp.token_logprobs).toHaveLength(6);
      expect(lp.top_logprobs).toHaveLength(6);
      expect(lp.text_offset).toHaveLength(6);
      lp.top_logprobs!.forEach((top, i) => {
        expect(Object.keys(top)).toHaveLength(2);
        // Greedy: the chosen token is the likeliest.
        expect(lp.token_logprobs![i]).toBeCloseTo(Math.max(...Object.values(top)), 6);
        expect(lp.token_logprobs![i]).toBeLessThanOrEqual(0);
      });
      // Offsets advance by each token's length in characters (code points, as OpenAI counts in
      // Python), from the prompt's end or from 0.
      expect([0, prompts[c.index >> 1].length]).toContain(lp.text_offset![0]);
      const steps = lp.text_offset!.slice(1).map((o, i) => o - lp.text_offset![i]);
      expect({ tokens: lp.tokens, steps }).toEqual({
        tokens: lp.tokens,
        steps: lp.tokens!.slice(0, -1).map((t) => [...t].length),
      });
      if (!lp.tokens!.some((t) => t.startsWith('bytes:'))) expect(lp.tokens!.join('')).toBe(c.text);
    }
  });

  it('logit_bias +100 on one token makes greedy decoding pick it every step', async () => {
    const tok = tokenizerOf(api.qwenDir);
    const [id] = tok.encodeText(' Hello');
    expect(tok.encodeText(' Hello')).toHaveLength(1);
    const chat = await api.client.chat.completions.create({
      model: QWEN,
      messages,
      temperature: 0,
      max_tokens: 5,
      logit_bias: { [id]: 100 },
    });
    expect(chat.choices[0].message.content).toBe(' Hello'.repeat(5));
    const text = await api.client.completions.create({
      model: QWEN,
      prompt: 'x',
      temperature: 0,
      max_tokens: 4,
      logit_bias: { [id]: 100 },
    });
    expect(text.choices[0].text).toBe(' Hello'.repeat(4));
  });

  it('presence and frequency penalties change a repetitive greedy output, deterministically', async () => {
    const run = async (extra: object) =>
      (
        await api.client.chat.completions.create({
          model: QWEN,
          messages,
          temperature: 0,
          seed: 4,
          max_tokens: 16,
          logprobs: true,
          ...extra,
        })
      ).choices[0].logprobs!.content!.map((e) => e.token);
    const plain = await run({});
    // The fixture repeats itself: a token occurs more than once.
    expect(new Set(plain).size).toBeLessThan(plain.length);
    for (const penalty of [{ presence_penalty: 2 }, { frequency_penalty: 2 }]) {
      const first = await run(penalty);
      expect(first).not.toEqual(plain);
      // Penalised: fewer repeats than the plain output.
      expect(new Set(first).size).toBeGreaterThan(new Set(plain).size);
      expect(await run(penalty)).toEqual(first);
    }
  });
});
