import { basename, join } from 'node:path';
import { buildEncoder, type EncoderOptions } from '../../src/model-tools/encoder/build-encoder';
import { quantizeModelFolder } from '../../src/model-tools/quantize';
import { writeVariant } from '../../src/model-tools/variants/write-variant';
import { createEncoderProvider, type EncoderProvider } from '../../src/models/encoder/encoder.provider';
import { makeTempDir } from '../helpers/temp-dir';

/**
 * Our vectors = transformers.js's feature-extraction pipeline (local files only) on the same
 * generated encoders, same pooling and normalisation, within 1e-4 cosine; batching across
 * requests changes no vector.
 */
const root = makeTempDir('embeddings-parity');

async function transformers() {
  const t = await import('@huggingface/transformers');
  t.env.allowRemoteModels = false;
  t.env.allowLocalModels = true;
  t.env.localModelPath = root;
  return t;
}

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
};

const TEXTS = [
  'The quick brown fox jumps over the lazy dog.',
  'Search query: where do cats sleep?',
  'a',
  'Walking, talking and singing in the rain! 42 times... Zébra 東京',
  'model server token embedding vector document',
];

type Case = [string, Omit<EncoderOptions, 'outDir'>, 'mean' | 'cls' | 'last'];
const cases: Case[] = [
  ['bert wordpiece, mean', { arch: 'bert', pooling: 'mean' }, 'mean'],
  ['bert wordpiece, cls', { arch: 'bert', pooling: 'cls' }, 'cls'],
  ['xlm-roberta unigram (no token_type_ids), mean', { arch: 'xlm-roberta', pooling: 'mean' }, 'mean'],
  ['xlm-roberta unigram, last token', { arch: 'xlm-roberta', pooling: 'last' }, 'last'],
];

describe('EncoderProvider parity with transformers.js feature-extraction', () => {
  it.each(cases)('%s', async (name, opts, pooling) => {
    const dir = join(root, `case-${cases.findIndex((c) => c[0] === name)}`);
    await buildEncoder({ outDir: dir, layers: 2, hidden: 32, heads: 4, seed: 7, ...opts });
    const { pipeline } = await transformers();
    const extractor = await pipeline('feature-extraction', basename(dir), { dtype: 'fp32', device: 'cpu' });
    const provider = await createEncoderProvider({ id: name, path: dir, threads: 1 });
    try {
      const run = async (texts: string[]) =>
        (
          (await extractor(texts, {
            pooling: pooling === 'last' ? 'last_token' : pooling,
            normalize: true,
          })) as unknown as {
            tolist(): number[][];
          }
        ).tolist();
      // transformers.js takes the batch's last column, a pad for shorter rows unless the tokenizer
      // pads left; we take each row's last real token. One text at a time they must agree.
      const theirs =
        pooling === 'last' ? (await Promise.all(TEXTS.map((t) => run([t])))).map((r) => r[0]) : await run(TEXTS);
      const prepared = provider.prepare(TEXTS, {});
      const ours = (await provider.embed({ rows: prepared.rows, encodingFormat: 'float' })) as number[][];
      expect(ours).toHaveLength(TEXTS.length);
      for (let i = 0; i < TEXTS.length; i++) {
        expect(cosine(ours[i], theirs[i])).toBeGreaterThan(1 - 1e-4);
        expect(ours[i]).toHaveLength(32);
      }
      // The vectors differ per text (a constant output would pass the cosine check trivially).
      expect(cosine(ours[0], ours[1])).toBeLessThan(0.999);
      // Same token counts as the reference tokenizer.
      const counts = TEXTS.map((t) => (extractor.tokenizer(t).input_ids.dims as number[])[1]);
      expect(prepared.rows.map((r) => r.length)).toEqual(counts);
    } finally {
      await provider.close();
      await extractor.dispose();
    }
  });

  it.each([
    ['fp16', 0.9999],
    ['q4', 0.95],
  ] as const)('the %s variant (model:quantize) loads and stays close to fp32', async (dtype, floor) => {
    const dir = join(root, `variant-${dtype}`);
    await buildEncoder({ outDir: dir, layers: 2, hidden: 32, heads: 4, seed: 7 });
    await writeVariant(dir, { dtype });
    const fp32 = await createEncoderProvider({ id: 'fp32', path: dir, threads: 1 });
    const other = await createEncoderProvider({ id: dtype, path: dir, threads: 1, variant: dtype });
    try {
      const rows = fp32.prepare(TEXTS, {}).rows;
      const a = (await fp32.embed({ rows, encodingFormat: 'float' })) as number[][];
      const b = (await other.embed({ rows, encodingFormat: 'float' })) as number[][];
      for (let i = 0; i < rows.length; i++) expect(cosine(a[i], b[i])).toBeGreaterThan(floor);
      expect(Math.hypot(...b[0])).toBeCloseTo(1, 4);
    } finally {
      await fp32.close();
      await other.close();
    }
  });

  it('the int8 variant (model:quantize) loads and stays close to fp32', async () => {
    const dir = join(root, 'q8');
    await buildEncoder({ outDir: dir, layers: 2, hidden: 32, heads: 4, seed: 7 });
    await quantizeModelFolder(dir);
    const fp32 = await createEncoderProvider({ id: 'fp32', path: dir, threads: 1 });
    const q8 = await createEncoderProvider({ id: 'q8', path: dir, threads: 1, variant: 'q8' });
    try {
      const rows = fp32.prepare(TEXTS, {}).rows;
      const a = (await fp32.embed({ rows, encodingFormat: 'float' })) as number[][];
      const b = (await q8.embed({ rows, encodingFormat: 'float' })) as number[][];
      expect(q8.version).not.toBe('');
      for (let i = 0; i < rows.length; i++) expect(cosine(a[i], b[i])).toBeGreaterThan(0.95);
    } finally {
      await fp32.close();
      await q8.close();
    }
  });
});

describe('EncoderProvider loading', () => {
  it("uses the graph's own sentence_embedding output unless models.yaml names a pooling, with the same vectors", async () => {
    const dir = join(root, 'sentence-embedding');
    await buildEncoder({ outDir: dir, layers: 2, hidden: 32, heads: 4, seed: 11, sentenceEmbedding: true });
    const own = await createEncoderProvider({ id: 'own', path: dir, threads: 1 });
    const pooled = await createEncoderProvider({ id: 'pooled', path: dir, threads: 1, pooling: 'mean' });
    try {
      const rows = own.prepare(TEXTS, {}).rows;
      const a = (await own.embed({ rows, encodingFormat: 'float' })) as number[][];
      const b = (await pooled.embed({ rows, encodingFormat: 'float' })) as number[][];
      a.forEach((v, i) => v.forEach((x, j) => expect(x).toBeCloseTo(b[i][j], 5)));
    } finally {
      await own.close();
      await pooled.close();
    }
  });

  it('refuses a folder it cannot serve, naming the file', async () => {
    const dir = join(root, 'broken');
    await buildEncoder({ outDir: dir, layers: 1, hidden: 16, heads: 2 });
    await expect(createEncoderProvider({ id: 'x', path: dir, variant: 'q8' })).rejects.toThrow(
      /model_quantized\.onnx: not found/,
    );
    await expect(createEncoderProvider({ id: 'x', path: join(root, 'missing') })).rejects.toThrow(/folder not found/);
    await expect(createEncoderProvider({ id: 'x', path: dir, variant: 'q3' })).rejects.toThrow(/unknown dtype "q3"/);
  });
});

describe('EncoderProvider batching', () => {
  let provider: EncoderProvider;
  let batches: number[];

  beforeAll(async () => {
    const dir = join(root, 'batching');
    await buildEncoder({ outDir: dir, layers: 2, hidden: 32, heads: 4, seed: 9, sentenceEmbedding: false });
    batches = [];
    provider = await createEncoderProvider({
      id: 'batching',
      path: dir,
      threads: 1,
      maxBatchSize: 8,
      maxBatchTokens: 8 * 64,
      matryoshkaDimensions: [16],
      hooks: { onBatch: (n) => batches.push(n) },
    });
  });
  afterAll(() => provider.close());

  it('concurrent requests share forward passes and get the vectors they get alone', async () => {
    const alone: number[][] = [];
    for (const t of TEXTS)
      alone.push(
        ((await provider.embed({ rows: provider.prepare([t], {}).rows, encodingFormat: 'float' })) as number[][])[0],
      );
    batches.length = 0;
    const together = await Promise.all(
      TEXTS.map((t) => provider.embed({ rows: provider.prepare([t], {}).rows, encodingFormat: 'float' })),
    );
    // The first request runs alone; everything sent meanwhile shares the next pass.
    expect(Math.max(...batches)).toBeGreaterThan(1);
    together.forEach((v, i) => {
      const got = v[0] as number[];
      got.forEach((x, j) => expect(x).toBeCloseTo(alone[i][j], 5));
    });
  });

  it('keeps a pass within the padded-token budget', async () => {
    batches.length = 0;
    const long = 'word '.repeat(100); // ~102 tokens: 5 of them fit 512 padded tokens
    await provider.embed({ rows: provider.prepare(Array(12).fill(long), {}).rows, encodingFormat: 'float' });
    expect(Math.max(...batches)).toBeLessThanOrEqual(5);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(12);
  });

  it('refuses an input over the context naming its index, or truncates it when asked', async () => {
    const tooLong = 'dog '.repeat(600);
    expect(() => provider.prepare(['ok', tooLong], {})).toThrow(
      expect.objectContaining({ param: 'input', message: expect.stringContaining('input[1]') }),
    );
    const { rows } = provider.prepare(['ok', tooLong], { truncate: true });
    expect(rows[1]).toHaveLength(512);
    expect(rows[1][511]).toBe(rows[0][rows[0].length - 1]); // still ends with [SEP]
  });

  it('truncates dimensions and re-normalises; base64 is little-endian float32', async () => {
    const rows = provider.prepare(['hello world'], {}).rows;
    const [full] = (await provider.embed({ rows, encodingFormat: 'float' })) as number[][];
    const [cut] = (await provider.embed({ rows, encodingFormat: 'float', dimensions: 16 })) as number[][];
    const [b64] = (await provider.embed({ rows, encodingFormat: 'base64', dimensions: 16 })) as string[];
    expect(cut).toHaveLength(16);
    expect(Math.hypot(...cut)).toBeCloseTo(1, 5);
    expect(Math.hypot(...full)).toBeCloseTo(1, 5);
    const scale = Math.hypot(...full.slice(0, 16));
    cut.forEach((x, j) => expect(x).toBeCloseTo(full[j] / scale, 5));
    const buf = Buffer.from(b64, 'base64');
    const decoded = Array.from({ length: buf.length / 4 }, (_, i) => buf.readFloatLE(i * 4));
    decoded.forEach((x, j) => expect(x).toBeCloseTo(cut[j], 6));
  });
});
