import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel } from './build-model';
import { readFloatInitializers } from './onnx/tensor-io';
import { OrtDecoder } from './ort-decoder';
import { referenceForward } from './reference-forward';
import { type Architecture, type BuildModelOptions, type ModelSpec, onnxFileName } from './spec';

const root = mkdtempSync(join(tmpdir(), 'model-tools-graph-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function build(name: string, opts: Omit<BuildModelOptions, 'outDir'>) {
  const outDir = join(root, name);
  const spec = await buildModel({ outDir, ...opts });
  const file = join(outDir, onnxFileName(spec));
  return { spec, file, dec: await OrtDecoder.load(file) };
}

function maxDiff(onnx: Float32Array, offset: number, ref: Float64Array): number {
  let m = 0;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(onnx[offset + i] - ref[i]));
  return m;
}

// Byte-vocabulary prompts ("Hello, world" and a shorter one).
const P1 = [72, 101, 108, 108, 111, 44, 32, 119, 111, 114, 108, 100];
const P2 = [79, 78, 78, 88, 33];

const cases: Array<[string, Architecture, Omit<BuildModelOptions, 'outDir'>]> = [
  ['gpt2', 'gpt2', {}],
  ['gpt2 without position_ids', 'gpt2', { positionIds: false }],
  ['llama with grouped kv heads', 'llama', { kvHeads: 2 }],
  ['llama without position_ids, tied head', 'llama', { positionIds: false, tieEmbeddings: true }],
  ['qwen2', 'qwen2', { kvHeads: 2 }],
  ['mistral', 'mistral', { kvHeads: 1 }],
  ['phi3', 'phi3', { kvHeads: 2 }],
];

describe.each(cases)('%s graph', (name, arch, extra) => {
  let spec: ModelSpec;
  let dec: OrtDecoder;
  let weights: ReturnType<typeof readFloatInitializers>;

  beforeAll(async () => {
    const built = await build(name.replace(/\W+/g, '-'), { arch, layers: 2, hidden: 32, heads: 4, seed: 7, ...extra });
    ({ spec, dec } = built);
    weights = readFloatInitializers(built.file);
  });
  afterAll(() => dec.release());

  it('matches a float64 reference forward pass within 1e-4', async () => {
    const r = await dec.forward([P1], [P1.map(() => 1)]);
    const ref = referenceForward(spec, weights, { inputIds: [P1] })[0];
    const V = spec.vocabSize;
    expect(r.dims).toEqual([1, P1.length, V]);
    for (let s = 0; s < P1.length; s++) expect(maxDiff(r.logits, s * V, ref[s])).toBeLessThan(1e-4);
  });

  it('decodes with the KV cache exactly as with full recompute', async () => {
    const V = spec.vocabSize;
    const pre = await dec.forward([P1.slice(0, 8)], [Array(8).fill(1)]);
    let past = pre.present;
    for (let s = 8; s < P1.length; s++) {
      const step = await dec.forward([[P1[s]]], [Array(s + 1).fill(1)], past);
      const full = await dec.forward([P1.slice(0, s + 1)], [Array(s + 1).fill(1)]);
      expect(step.dims).toEqual([1, 1, V]);
      expect(maxDiff(step.logits, 0, Float64Array.from(full.logits.subarray(s * V, (s + 1) * V)))).toBeLessThan(4e-5);
      past = step.present;
    }
    expect(past.get('past_key_values.0.key')?.dims).toEqual([1, spec.kvHeads, P1.length, spec.headDim]);
    expect(await dec.greedy(P2, 10, true)).toEqual(await dec.greedy(P2, 10, false));
  });

  it('gives a left-padded batch the same logits as each prompt alone', async () => {
    const V = spec.vocabSize;
    const pad = P1.length - P2.length;
    const batch = await dec.forward(
      [P1, [...Array(pad).fill(0), ...P2]],
      [P1.map(() => 1), [...Array(pad).fill(0), ...P2.map(() => 1)]],
    );
    const alone1 = await dec.forward([P1], [P1.map(() => 1)]);
    const alone2 = await dec.forward([P2], [P2.map(() => 1)]);
    const rowLen = P1.length * V;
    for (let s = 0; s < P1.length; s++) {
      expect(maxDiff(batch.logits, s * V, Float64Array.from(alone1.logits.subarray(s * V, (s + 1) * V)))).toBeLessThan(
        1e-4,
      );
    }
    for (let s = 0; s < P2.length; s++) {
      const ref = Float64Array.from(alone2.logits.subarray(s * V, (s + 1) * V));
      expect(maxDiff(batch.logits, rowLen + (pad + s) * V, ref)).toBeLessThan(1e-4);
    }
    // One decode step of the padded batch through the KV cache equals each prompt's own step.
    const maskB = [
      [...P1.map(() => 1), 1],
      [...Array(pad).fill(0), ...P2.map(() => 1), 1],
    ];
    const stepB = await dec.forward([[65], [66]], maskB, batch.present);
    const step1 = await dec.forward([[65]], [[...P1.map(() => 1), 1]], alone1.present);
    const step2 = await dec.forward([[66]], [[...P2.map(() => 1), 1]], alone2.present);
    expect(maxDiff(stepB.logits, 0, Float64Array.from(step1.logits))).toBeLessThan(1e-4);
    expect(maxDiff(stepB.logits, V, Float64Array.from(step2.logits))).toBeLessThan(1e-4);
    // The reference agrees on the padded row too (positions derived from the mask).
    const mask2 = [...Array(pad).fill(0), ...P2.map(() => 1)];
    const ref2 = referenceForward(spec, weights, {
      inputIds: [[...Array(pad).fill(0), ...P2]],
      attentionMask: [mask2],
    })[0];
    expect(maxDiff(batch.logits, rowLen + (P1.length - 1) * V, ref2[P1.length - 1])).toBeLessThan(1e-4);
  });

  it('produces varied greedy output with safe top-1/top-2 margins', async () => {
    const out = await dec.greedy(P1, 24);
    expect(new Set(out).size).toBeGreaterThan(3);
    const r = await dec.forward([P1], [P1.map(() => 1)]);
    const V = spec.vocabSize;
    const margins = P1.map((_, s) => {
      const row = Array.from(r.logits.subarray(s * V, (s + 1) * V)).sort((a, b) => b - a);
      return row[0] - row[1];
    });
    // Rounding differences between runtimes are ~1e-5; margins should sit far above that.
    expect(margins.filter((m) => m > 1e-3).length).toBeGreaterThanOrEqual(P1.length - 1);
  });
});
