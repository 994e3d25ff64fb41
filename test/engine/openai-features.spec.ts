import { createOnnxProvider, type OnnxProvider } from '../../src/models/onnx';
import { Sequence } from '../../src/models/onnx/sequence';
import type { WireObject } from '../../src/models/provider.interface';
import { modelRoot, request } from './engine-fixtures';

/** The engine side of the OpenAI features (docs/local-models-api.md): n, logprobs, penalties, bias. */
const models = modelRoot('openai-features');
let provider: OnnxProvider;
let dir: string;
/** Every forward pass's batch and sequence length. */
let passes: { batch: number; seqLen: number }[];

beforeAll(async () => {
  dir = await models.build('feat', { arch: 'llama', kvHeads: 2, maxPositions: 512 });
  provider = await createOnnxProvider({ id: 'm', path: dir, threads: 1 });
  const runner = (
    provider as unknown as { runner: { forward: (a: { batch: number; seqLen: number }) => Promise<unknown> } }
  ).runner;
  const forward = runner.forward.bind(runner);
  runner.forward = (a) => {
    passes.push({ batch: a.batch, seqLen: a.seqLen });
    return forward(a);
  };
});
afterAll(() => provider.close());
beforeEach(() => {
  passes = [];
});

const SAMPLED = { temperature: 1, maxTokens: 12, seed: 40 };
const texts = (wire: WireObject | undefined): string[] => (wire?.choices as WireObject[]).map((c) => c.text as string);

describe('n choices', () => {
  it('each choice equals a single request with seed + its index, though the prompt was prefilled once', async () => {
    const body = { model: 'm', prompt: 'Once upon a time', n: 3 };
    const many = await provider.generate(request('Once upon a time', SAMPLED, { body }));
    const prefills = passes.filter((p) => p.seqLen > 1);
    expect(prefills).toEqual([{ batch: 1, seqLen: many.usage.promptTokens }]);
    expect(Math.max(...passes.map((p) => p.batch))).toBe(3);
    const singles = await Promise.all(
      [0, 1, 2].map((i) =>
        provider.generate(
          request(
            'Once upon a time',
            { ...SAMPLED, seed: 40 + i },
            { body: { model: 'm', prompt: 'Once upon a time' } },
          ),
        ),
      ),
    );
    expect(texts(many.wire)).toEqual(singles.map((s) => s.text));
    // Distinct seeds: the choices differ (random-weight model sampling 12 tokens).
    expect(new Set(texts(many.wire)).size).toBeGreaterThan(1);
    // The prompt is counted once; every choice's tokens are counted.
    expect(many.usage.promptTokens).toBe(singles[0].usage.promptTokens);
    expect(many.usage.completionTokens).toBe(singles.reduce((n, s) => n + s.usage.completionTokens, 0));
  });

  it('a prompt list gives n choices per prompt, in OpenAI order, each prompt counted once', async () => {
    const body = { model: 'm', prompt: ['a b', 'c d e'], n: 2 };
    const r = await provider.generate(request('ignored', SAMPLED, { body }));
    const choices = r.wire!.choices as WireObject[];
    expect(choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    const counts = await Promise.all(['a b', 'c d e'].map((p) => provider.countTokens(p)));
    expect(r.usage.promptTokens).toBe(counts[0] + counts[1]);
    const second = await provider.generate(
      request('c d e', { ...SAMPLED, seed: 42 }, { body: { model: 'm', prompt: 'c d e' } }),
    );
    expect(choices[2].text).toBe(second.text);
  });
});

describe('a client that leaves', () => {
  it('stops every choice of the request at the next step', async () => {
    const body = { model: 'm', prompt: 'long story', n: 3 };
    const events = provider.stream(request('long story', { ...SAMPLED, maxTokens: 400 }, { body }));
    const stream = events[Symbol.asyncIterator]();
    for (let i = 0; i < 6; i++) await stream.next();
    expect(provider.stats().inflight).toBe(3);
    await stream.return!();
    const before = passes.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(provider.stats().inflight).toBe(0);
    // At most the pass already under way when it left.
    expect(passes.length - before).toBeLessThanOrEqual(1);
  });
});

describe('choices beyond capacity', () => {
  it('refuses more choices than the model runs or queues at once with 400 on n, before any work', async () => {
    const body = { model: 'm', prompt: 'x', n: 41 }; // default capacity: 8 slots + 32 queued
    const err = (await provider.countTokens('x', body).catch((e: unknown) => e)) as { status: number; param: string };
    expect([err.status, err.param]).toEqual([400, 'n']);
    expect(passes).toEqual([]);
  });
});

describe('logprobs', () => {
  it('greedy: each token is the most likely one, top lists are sorted, the probabilities sum to at most 1', async () => {
    const body = { model: 'm', messages: [{ role: 'user', content: 'hi' }], logprobs: true, top_logprobs: 3 };
    const r = await provider.generate({
      messages: [{ role: 'user', content: 'hi' }],
      params: { ...request('').params, maxTokens: 8 },
      body,
    });
    const entries = ((r.wire!.choices as WireObject[])[0].logprobs as WireObject).content as WireObject[];
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) {
      const top = e.top_logprobs as { token: string; logprob: number }[];
      expect(top).toHaveLength(3);
      expect(top[0].logprob).toBeCloseTo(e.logprob as number, 10);
      for (let i = 1; i < top.length; i++) expect(top[i].logprob).toBeLessThanOrEqual(top[i - 1].logprob);
      expect(top.reduce((s, t) => s + Math.exp(t.logprob), 0)).toBeLessThanOrEqual(1 + 1e-9);
    }
  });
});

describe('streamed logprobs', () => {
  it('each chunk’s content is the text of the tokens whose logprobs it carries (no grapheme held back)', async () => {
    const messages = [{ role: 'user' as const, content: 'hi' }];
    const body = { model: 'm', messages, logprobs: true, stream: true };
    const chunks: { content: string; tokens: string[]; ascii: boolean }[] = [];
    for await (const e of provider.stream({ messages, params: { ...request('').params, maxTokens: 24 }, body })) {
      if (e.type !== 'delta' || !e.chunk) continue;
      for (const c of e.chunk.choices as WireObject[]) {
        const entries = ((c.logprobs as WireObject | null)?.content ?? []) as { token: string; bytes: number[] }[];
        chunks.push({
          content: ((c.delta as WireObject).content as string | undefined) ?? '',
          tokens: entries.map((t) => t.token),
          ascii: entries.every((t) => t.bytes.every((b) => b < 0x80)),
        });
      }
    }
    const whole = chunks.filter((c) => c.tokens.length > 0);
    expect(whole.length).toBeGreaterThan(5);
    // Where a token is not whole UTF-8 by itself its text waits for the next one: compare the rest.
    const comparable = whole.filter((c, i) => c.ascii && (i === 0 || whole[i - 1].ascii));
    expect(comparable.length).toBeGreaterThan(3);
    for (const c of comparable) expect(c.content).toBe(c.tokens.join(''));
  });
});

describe("constrained rows drawing from the graph's probabilities", () => {
  const json = (temperature: number, seed: number) => {
    const messages = [{ role: 'user' as const, content: 'hi' }];
    const body = { model: 'm', messages, response_format: { type: 'json_object' }, temperature, seed, max_tokens: 40 };
    return { messages, params: { ...request('').params, temperature, seed, maxTokens: 40 }, body };
  };
  it('use the probabilities under their mask at a usual temperature, and the logits where the allowed mass underflows', async () => {
    const choose = jest.spyOn(Sequence.prototype, 'choose');
    try {
      const warm = await provider.generate(json(1, 3));
      expect(typeof JSON.parse(warm.text)).toBe('object');
      expect(choose).not.toHaveBeenCalled();
      // At temperature 1e-4 every allowed token the model does not favour is a float32 zero.
      const cold = await provider.generate(json(1e-4, 3));
      expect(typeof JSON.parse(cold.text)).toBe('object');
      expect(choose).toHaveBeenCalled();
    } finally {
      choose.mockRestore();
    }
  });
});

describe('the token index', () => {
  it('is built only when an answer needs token bytes (logprobs) or a constraint, not for a plain answer', async () => {
    const fresh = await createOnnxProvider({ id: 'm', path: dir, threads: 1 });
    const built = () => (fresh as unknown as { index?: unknown }).index !== undefined;
    const messages = [{ role: 'user' as const, content: 'hi' }];
    const ask = (extra: object) =>
      fresh.generate({
        messages,
        params: { ...request('').params, maxTokens: 4 },
        body: { model: 'm', messages, ...extra },
      });
    try {
      await ask({});
      await ask({ n: 2, temperature: 1 });
      expect(built()).toBe(false);
      const r = await ask({ logprobs: true });
      const entries = ((r.wire!.choices as WireObject[])[0].logprobs as WireObject).content as WireObject[];
      expect((entries[0].bytes as number[]).length).toBeGreaterThan(0);
      expect(built()).toBe(true);
    } finally {
      await fresh.close();
    }
  });
});

describe('penalties and logit_bias', () => {
  it('a +100 bias makes greedy decoding pick that token every step; -100 on it never does', async () => {
    const plain = await provider.generateTokens(request('xyz', { maxTokens: 6 }));
    const target = plain.tokenIds[0];
    const forced = await provider.generateTokens(
      request(
        'xyz',
        { maxTokens: 6 },
        { body: { model: 'm', prompt: 'xyz', logit_bias: { [String(target + 1)]: 100 } } },
      ),
    );
    expect(forced.tokenIds.every((id) => id === target + 1)).toBe(true);
    const banned = await provider.generateTokens(
      request('xyz', { maxTokens: 6 }, { body: { model: 'm', prompt: 'xyz', logit_bias: { [String(target)]: -100 } } }),
    );
    expect(banned.tokenIds).not.toContain(target);
  });

  it('a frequency penalty changes a repetitive greedy output, the same way every time', async () => {
    const base = await provider.generateTokens(request('aaaa', { maxTokens: 16 }));
    const body = { model: 'm', prompt: 'aaaa', frequency_penalty: 2, presence_penalty: 2 };
    const [a, b] = await Promise.all(
      [0, 1].map(() => provider.generateTokens(request('aaaa', { maxTokens: 16 }, { body: { ...body } }))),
    );
    expect(a.tokenIds).toEqual(b.tokenIds);
    expect(a.tokenIds).not.toEqual(base.tokenIds);
    // A token generated k times has been pushed down by 2 + 2k: with a penalty this strong it repeats less.
    const repeats = (ids: number[]) => ids.length - new Set(ids).size;
    expect(repeats(a.tokenIds)).toBeLessThan(repeats(base.tokenIds));
  });
});
