import { createOnnxProvider, type OnnxProvider } from '../../src/models/onnx';
import { parseModelConfig } from '../../src/models/onnx/model-config';
import { readModelFolder } from '../../src/models/onnx/model-folder';
import { ModelRunner } from '../../src/models/onnx/model-runner';
import { argmax } from '../../src/models/onnx/sampler';
import { modelRoot, request, type TestModel } from './engine-fixtures';

const models = modelRoot('decoding');

async function loadRunner(dir: string, optimizeGraph = true): Promise<ModelRunner> {
  const folder = readModelFolder(dir);
  return ModelRunner.load(folder, parseModelConfig(folder.config, folder.generationConfig, folder.configFile), {
    device: 'cpu',
    threads: 1,
    optimizeGraph,
  });
}

const maxAbsDiff = (a: Float32Array, b: ArrayLike<number>) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe.each([
  ['gpt2', { arch: 'gpt2' as const }],
  ['llama with grouped kv heads', { arch: 'llama' as const, kvHeads: 2 }],
])('KV-cache decoding (%s)', (_name, opts) => {
  it('gives the same greedy tokens as full recompute, logits within 1e-4', async () => {
    const runner = await loadRunner(await models.build(`kv-${opts.arch}`, opts));
    try {
      const prompt = [72, 101, 108, 108, 111, 32, 119];
      // With the cache: prefill once, then one token per pass.
      const cached: number[] = [];
      const cachedLogits: Float32Array[] = [];
      let out = await runner.forward({
        ids: prompt,
        batch: 1,
        seqLen: prompt.length,
        pads: [0],
        past: null,
        pastLength: 0,
        want: 'logits',
      });
      for (let step = 0; step < 12; step++) {
        const logits = out.logits![0].slice();
        cachedLogits.push(logits);
        cached.push(argmax(logits));
        const pastLength = prompt.length + step;
        out = await runner.forward({
          ids: [cached[step]],
          batch: 1,
          seqLen: 1,
          pads: [0],
          past: out.presents,
          pastLength,
          want: 'logits',
        });
      }
      // Without: the whole sequence from scratch every step.
      const tokens = [...prompt];
      let worst = 0;
      for (let step = 0; step < 12; step++) {
        const full = await runner.forward({
          ids: tokens,
          batch: 1,
          seqLen: tokens.length,
          pads: [0],
          past: null,
          pastLength: 0,
          want: 'logits',
        });
        worst = Math.max(worst, maxAbsDiff(full.logits![0], cachedLogits[step]));
        tokens.push(argmax(full.logits![0]));
      }
      expect(tokens.slice(prompt.length)).toEqual(cached);
      expect(worst).toBeLessThan(1e-4);
      expect(new Set(cached).size).toBeGreaterThan(2); // a model that repeats one token proves little
    } finally {
      await runner.release();
    }
  });
});

describe('load-time graph edit', () => {
  it('gives the same last-position logits, argmax and per-row temperature softmax as the graph as exported', async () => {
    const dir = await models.build('edit-qwen2', { arch: 'qwen2', kvHeads: 2 });
    const edited = await loadRunner(dir, true);
    const plain = await loadRunner(dir, false);
    try {
      expect(edited.graphChanges).toEqual([
        'logits for the last position only',
        'argmax output',
        'sampling probabilities output',
      ]);
      expect(plain.graphChanges).toEqual([]);
      const ids = [5, 80, 120, 33, 200, 7, 7, 64];
      const pads = [3, 0];
      const args = { ids, batch: 2, seqLen: 4, pads, past: null, pastLength: 0 };
      const a = await edited.forward({ ...args, want: 'logits' });
      const b = await plain.forward({ ...args, want: 'logits' });
      const g = await edited.forward({ ...args, want: 'argmax' });
      for (let r = 0; r < 2; r++) {
        expect(maxAbsDiff(a.logits![r], b.logits![r])).toBeLessThan(1e-5);
        expect(g.argmax![r]).toBe(argmax(b.logits![r]));
      }
      expect(g.logits).toBeUndefined(); // greedy rows never copy the vocabulary out
      // Row 0 at temperature 0.5, row 1 greedy (its argmax comes along; its probabilities are unused).
      const p = await edited.forward({ ...args, want: 'probs', invTemperatures: [2, 0] });
      expect(p.logits).toBeUndefined();
      expect(p.argmax![1]).toBe(argmax(b.logits![1]));
      const expected = softmax(b.logits![0], 2);
      expect(maxAbsDiff(p.probs![0], expected)).toBeLessThan(1e-6);
      expect(p.probs![0].reduce((x, y) => x + y, 0)).toBeCloseTo(1, 4);
      const withLogits = await edited.forward({ ...args, want: 'probs', invTemperatures: [2, 1], withLogits: true });
      expect(maxAbsDiff(withLogits.logits![0], b.logits![0])).toBeLessThan(1e-5);
      expect(maxAbsDiff(withLogits.probs![1], softmax(b.logits![1], 1))).toBeLessThan(1e-6);
      expect(withLogits.argmax).toBeUndefined(); // no greedy row
    } finally {
      await edited.release();
      await plain.release();
    }
  });
});

/** Whether sequences may share forward passes for this model. */
const shares = (m: TestModel) => m.positionIds !== false && !m.quantize;

/** Prompts of different lengths (byte vocabulary: one token per byte). */
const PROMPTS = ['Hi', 'The quick brown fox jumps over the lazy dog', 'a', 'Once upon a time, in a land', '12345'];

describe.each([
  ['with position_ids (left padding)', { arch: 'llama' as const, kvHeads: 2 }],
  ['gpt2 with position_ids', { arch: 'gpt2' as const }],
  ['without position_ids (one group per sequence)', { arch: 'gpt2' as const, positionIds: false }],
  ['int8, dynamically quantized (one group per sequence)', { arch: 'qwen2' as const, kvHeads: 2, quantize: true }],
])('continuous batching, %s', (name, opts: TestModel) => {
  let provider: OnnxProvider;
  const batchSizes: number[] = [];
  let tokensSeen = 0;
  beforeAll(async () => {
    const dir = await models.build(`batch-${name.length}-${opts.arch}`, opts);
    provider = await createOnnxProvider({
      id: 'b',
      path: dir,
      maxBatchSize: 8,
      threads: 1,
      variant: opts.quantize ? 'q8' : 'fp32',
    });
    provider.setHooks({ onBatch: (n) => batchSizes.push(n), onToken: () => tokensSeen++ });
  });
  afterAll(() => provider.close());

  // A sampled row too: its own seeded RNG must make it independent of its neighbours.
  const reqs = PROMPTS.map((p, i) =>
    request(p, i === 1 ? { temperature: 0.9, topK: 40, seed: 3, maxTokens: 12 } : { maxTokens: 10 + i }),
  );

  it('gives each of several different-length prompts the tokens it gets alone', async () => {
    const alone = [];
    for (const r of reqs) alone.push((await provider.generateTokens(r)).tokenIds);
    batchSizes.length = 0;
    const together = await Promise.all(reqs.map((r) => provider.generateTokens(r)));
    expect(together.map((t) => t.tokenIds)).toEqual(alone);
    if (shares(opts)) expect(Math.max(...batchSizes)).toBe(PROMPTS.length);
    else expect(Math.max(...batchSizes)).toBe(1);
  });

  it('gives requests that join a running batch mid-way the tokens they get alone', async () => {
    const first = request('Long running request', { maxTokens: 30 });
    const late = [
      request('late one', { maxTokens: 8 }),
      request('x', { maxTokens: 12 }),
      request('third, later still', { maxTokens: 6 }),
    ];
    const alone = [];
    for (const r of [first, ...late]) alone.push((await provider.generateTokens(r)).tokenIds);

    batchSizes.length = 0;
    tokensSeen = 0;
    const joined: Array<Promise<{ tokenIds: number[] }>> = [];
    let firstDone = false;
    let firstDoneWhenThirdJoined: boolean | null = null;
    provider.setHooks({
      onBatch: (n) => batchSizes.push(n),
      onToken: () => {
        tokensSeen++;
        // submitted from inside a decode step: they must wait for the next one and join it
        if (tokensSeen === 5) joined.push(provider.generateTokens(late[0]), provider.generateTokens(late[1]));
        if (tokensSeen === 14) {
          joined.push(provider.generateTokens(late[2]));
          firstDoneWhenThirdJoined = firstDone;
        }
      },
    });
    const head = provider.generateTokens(first).then((r) => ((firstDone = true), r));
    const results: Array<{ tokenIds: number[] }> = [await head];
    results.push(...(await Promise.all(joined)));
    expect(results.map((r) => r.tokenIds)).toEqual(alone);
    expect(alone.map((a) => a.length)).toEqual([30, 8, 12, 6]); // no early EOS: every step compared
    expect(firstDoneWhenThirdJoined).toBe(false);
    if (shares(opts)) expect(Math.max(...batchSizes)).toBeGreaterThanOrEqual(3);
    expect(provider.stats().inflight).toBe(0);
  });
});

function softmax(logits: Float32Array, invT: number): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v * invT);
  const out = Float64Array.from(logits, (v) => Math.exp(v * invT - max));
  const sum = out.reduce((x, y) => x + y, 0);
  return out.map((v) => v / sum);
}
