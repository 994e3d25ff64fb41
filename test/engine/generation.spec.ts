import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from '../../src/common/errors/api-error';
import { ErrorCode } from '../../src/common/errors/error-code';
import { createOnnxProvider, type OnnxProvider } from '../../src/models/onnx';
import { ModelTokenizer } from '../../src/models/onnx/tokenizer';
import type { GenerateRequest, StreamEvent } from '../../src/models/provider.interface';
import { modelRoot, request } from './engine-fixtures';

/** Sampling, stopping, streaming and limits, on a model with the real GPT-2 vocabulary. */
const models = modelRoot('generation');
let dir: string;
let provider: OnnxProvider;
let tokenizer: ModelTokenizer;

beforeAll(async () => {
  dir = await models.build('gpt2-vocab', { arch: 'gpt2', vocab: 'gpt2', hidden: 64, maxPositions: 64, seed: 5 });
  provider = await createOnnxProvider({ id: 'gen', path: dir, threads: 1, maxBatchSize: 4 });
  const read = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
  tokenizer = new ModelTokenizer(read('tokenizer.json'), read('tokenizer_config.json'));
});
afterAll(() => provider.close());

async function collect(
  req: GenerateRequest,
): Promise<{ deltas: string[]; done: Extract<StreamEvent, { type: 'done' }> }> {
  const deltas: string[] = [];
  for await (const e of provider.stream(req)) {
    if (e.type === 'delta') deltas.push(e.text);
    else return { deltas, done: e };
  }
  throw new Error('stream ended without done');
}

const SAMPLED = { temperature: 1, topP: 0.95, topK: 0, maxTokens: 24 };

describe('seeded sampling', () => {
  it('repeats the same text for the same seed and parameters, and differs for another seed', async () => {
    const a = await provider.generate(request('Once upon a time', { ...SAMPLED, seed: 1234 }));
    const b = await provider.generate(request('Once upon a time', { ...SAMPLED, seed: 1234 }));
    const c = await provider.generate(request('Once upon a time', { ...SAMPLED, seed: 4321 }));
    expect(b).toEqual(a);
    expect(c.text).not.toBe(a.text);
  });

  it('reads the same logits as the greedy path: a tiny temperature picks the greedy tokens', async () => {
    // Greedy rows fetch the in-graph argmax; sampled rows fetch full logits: both must agree.
    const greedy = await provider.generateTokens(request('Once upon a time', { maxTokens: 20 }));
    const cold = await provider.generateTokens(
      request('Once upon a time', { maxTokens: 20, temperature: 1e-4, seed: 1 }),
    );
    expect(cold.tokenIds).toEqual(greedy.tokenIds);
  });

  it('is reproducible while other requests share the batch', async () => {
    const alone = await provider.generate(request('Seeded', { ...SAMPLED, topK: 50, repetitionPenalty: 1.3, seed: 9 }));
    const [together] = await Promise.all([
      provider.generate(request('Seeded', { ...SAMPLED, topK: 50, repetitionPenalty: 1.3, seed: 9 })),
      provider.generate(request('Noise from a neighbour', { ...SAMPLED, seed: 10 })),
      provider.generate(request('More noise', SAMPLED)),
    ]);
    expect(together).toEqual(alone);
  });
});

describe('stopping', () => {
  it('ends at max_tokens with finish_reason length', async () => {
    const r = await provider.generate(request('Counting:', { maxTokens: 5 }));
    expect(r.finishReason).toBe('length');
    expect(r.usage.completionTokens).toBe(5);
  });

  it('ends before a stop sequence with finish_reason stop and does not return it', async () => {
    const full = await provider.generate(request('Tell me a story', { maxTokens: 30 }));
    expect(full.finishReason).toBe('length');
    const stop = full.text.slice(Math.floor(full.text.length / 2), Math.floor(full.text.length / 2) + 4);
    const cut = await collect(request('Tell me a story', { maxTokens: 30, stop: ['never-appears', stop] }));
    const expected = full.text.slice(0, full.text.indexOf(stop));
    expect(cut.deltas.join('')).toBe(expected);
    expect(cut.done.finishReason).toBe('stop');
    expect(cut.done.usage.completionTokens).toBeLessThan(30);
  });

  it('ends at an EOS id from generation_config (one of a list) with finish_reason stop', async () => {
    const probe = await provider.generateTokens(request('End early', { maxTokens: 8 }));
    // the first token that did not occur before it becomes an end-of-sequence id
    const at = probe.tokenIds.findIndex((id, i) => i > 0 && !probe.tokenIds.slice(0, i).includes(id));
    expect(at).toBeGreaterThan(0);
    const eos = probe.tokenIds[at];
    const genConfig = join(dir, 'generation_config.json');
    const original = readFileSync(genConfig, 'utf8');
    writeFileSync(genConfig, JSON.stringify({ ...JSON.parse(original), eos_token_id: [50256, eos] }));
    const withEos = await createOnnxProvider({ id: 'eos', path: dir, threads: 1 });
    writeFileSync(genConfig, original);
    try {
      const r = await withEos.generateTokens(request('End early', { maxTokens: 8 }));
      expect(r.tokenIds).toEqual(probe.tokenIds.slice(0, at + 1));
      expect(r.finishReason).toBe('stop');
      expect(r.usage.completionTokens).toBe(at + 1);
      expect(r.text).toBe(tokenizer.decode(probe.tokenIds.slice(0, at))); // EOS itself is not text
    } finally {
      await withEos.close();
    }
  });
});

describe('streaming', () => {
  const isWholeUtf16 = (s: string) => !/[\uD800-\uDBFF]$|^[\uDC00-\uDFFF]/.test(s);
  let byteProvider: OnnxProvider;
  let byteTokenizer: ModelTokenizer;
  beforeAll(async () => {
    // One token per byte: hot sampling emits partial and complete multi-byte characters alike.
    const byteDir = await models.build('byte-vocab', { arch: 'gpt2', seed: 5 });
    byteProvider = await createOnnxProvider({ id: 'bytes', path: byteDir, threads: 1 });
    const read = (f: string) => JSON.parse(readFileSync(join(byteDir, f), 'utf8'));
    byteTokenizer = new ModelTokenizer(read('tokenizer.json'), read('tokenizer_config.json'));
  });
  afterAll(() => byteProvider.close());

  it.each([
    ['byte vocabulary', 2],
    ['byte vocabulary', 3],
    ['byte vocabulary', 9],
    ['GPT-2 vocabulary', 1],
  ])('concatenates to the non-streaming text without splitting a character (%s, seed %i)', async (vocab, seed) => {
    const [p, tok, eos] =
      vocab === 'GPT-2 vocabulary' ? [provider, tokenizer, 50256] : [byteProvider, byteTokenizer, 256];
    const req = request('Emoji 🎉 and 漢字:', { temperature: 1.5, topP: 1, maxTokens: 60, seed });
    const streamed: string[] = [];
    let done: StreamEvent | undefined;
    for await (const e of p.stream(req))
      if (e.type === 'delta') streamed.push(e.text);
      else done = e;
    const whole = await p.generateTokens(req);
    expect(streamed.join('')).toBe(whole.text);
    expect(done).toEqual({ type: 'done', finishReason: whole.finishReason, usage: whole.usage });
    const textIds = whole.tokenIds.filter((id) => id < eos);
    // Equal to decoding all tokens at once: a character split across deltas would have left a
    // U+FFFD in the concatenation where the full decode has the character.
    expect(whole.text).toBe(tok.decode(textIds));
    // the case under test: tokens that are byte pieces of a character (alone they decode to U+FFFD)
    expect(textIds.some((id) => tok.decode([id]).includes('\uFFFD'))).toBe(true);
    for (const d of streamed) {
      expect(d.length).toBeGreaterThan(0);
      expect(isWholeUtf16(d)).toBe(true);
    }
    if (vocab === 'byte vocabulary') expect(whole.text).toMatch(/[\u0080-\uFFFC]/); // a character built from several tokens
  });
});

describe('context length', () => {
  const long = 'word '.repeat(80);

  it('rejects a prompt that does not fit with invalid_request on param prompt', async () => {
    const err = await provider.generate(request(long)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: ErrorCode.InvalidRequest, param: 'prompt', status: 400 });
    expect((err as Error).message).toMatch(/context length of 64/);
  });

  it('reports param messages for chat input, streaming included', async () => {
    const req: GenerateRequest = { messages: [{ role: 'user', content: long }], params: request('').params };
    await expect(collect(req)).rejects.toMatchObject({ code: ErrorCode.InvalidRequest, param: 'messages' });
  });

  it('clamps max_tokens so prompt and completion fit, finishing with length', async () => {
    const prompt = 'word' + ' word'.repeat(54);
    const promptTokens = await provider.countTokens(prompt);
    expect(promptTokens).toBeGreaterThan(50);
    const r = await provider.generate(request(prompt, { maxTokens: 500 }));
    expect(r.usage).toEqual({ promptTokens, completionTokens: 64 - promptTokens });
    expect(r.finishReason).toBe('length');
  });
});
