import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { buildEncoder } from '../../src/model-tools/encoder/build-encoder';
import { buildModel } from '../../src/model-tools/build-model';
import { buildGenAiModel } from '../../src/model-tools/genai-writer';
import { writeVariant } from '../../src/model-tools/variants/write-variant';
import { createEncoderProvider } from '../../src/models/encoder/encoder.provider';
import { createOnnxProvider, ModelLoadError, type OnnxProvider } from '../../src/models/onnx';
import { analyzeGraph } from '../../src/models/onnx/graph-edit';
import { parseModelConfig } from '../../src/models/onnx/model-config';
import { readModelFolder } from '../../src/models/onnx/model-folder';
import { ModelRunner } from '../../src/models/onnx/model-runner';
import { createMappedSession, createSession } from '../../src/models/onnx/session';
import { makeTempDir } from '../helpers/temp-dir';
import { request } from './engine-fixtures';

/**
 * Every weight variant a user may download, written by our own tools for llama- and qwen2-style
 * graphs with grouped-query attention: fp32, fp16, q8, q4 (block 32 and 128), q4f16, external
 * data in several files, and an ONNX Runtime GenAI folder. Each loads, streams, serves 8
 * concurrent requests exactly as it serves each alone, and (where transformers.js reads the
 * variant) picks the same greedy tokens as transformers.js on the same file.
 */
const root = makeTempDir('engine-variants');
const PROMPTS = [
  'The quick brown fox',
  'Once upon a time',
  'def main():',
  'Q: 2+2?\nA:',
  'Hello',
  'Lorem ipsum dolor sit amet',
  'x',
  'A longer prompt, so that batched rows are padded differently from each other.',
];
const NEW_TOKENS = 32;

type Variant = { name: string; dtype?: string; folder: string; tfjs: boolean };

async function transformers() {
  const t = await import('@huggingface/transformers');
  t.env.allowRemoteModels = false;
  t.env.allowLocalModels = true;
  t.env.localModelPath = root;
  return t;
}

describe.each([
  ['llama', { arch: 'llama' as const, kvHeads: 2 }],
  ['qwen2', { arch: 'qwen2' as const, kvHeads: 2 }],
])('model variants (%s)', (arch, spec) => {
  // head size 16: GroupQueryAttention on CPU needs a multiple of 16
  const base = { ...spec, layers: 2, hidden: 64, heads: 4, seed: 31, maxPositions: 256 };
  const dir = (name: string) => join(root, `${arch}-${name}`);
  const variants: Variant[] = [
    { name: 'fp32', folder: dir('main'), tfjs: true },
    { name: 'fp16', dtype: 'fp16', folder: dir('main'), tfjs: true },
    { name: 'q8', dtype: 'q8', folder: dir('main'), tfjs: true },
    { name: 'q4 block 32', dtype: 'q4', folder: dir('main'), tfjs: true },
    { name: 'q4f16', dtype: 'q4f16', folder: dir('main'), tfjs: true },
    { name: 'q4 block 128, asymmetric', dtype: 'q4', folder: dir('q4-128'), tfjs: true },
    { name: 'external data in several files', folder: dir('external'), tfjs: true },
    { name: 'GenAI folder', folder: dir('genai'), tfjs: false },
  ];
  const reference = new Map<string, number[]>();

  beforeAll(async () => {
    await buildModel({ outDir: dir('main'), ...base });
    for (const dtype of ['fp16', 'q8', 'q4', 'q4f16'] as const)
      await writeVariant(dir('main'), { dtype, blockSize: 32 });
    await buildModel({ outDir: dir('q4-128'), ...base });
    await writeVariant(dir('q4-128'), { dtype: 'q4', blockSize: 128, asymmetric: true });
    await buildModel({ outDir: dir('external'), ...base });
    await writeVariant(dir('external'), { dtype: 'fp32', externalData: true, maxDataFileBytes: 64 * 1024 });
    await buildGenAiModel({ outDir: dir('genai'), ...base });
  });

  it('writes the files transformers.js names, external data split over several files', () => {
    expect(readdirSync(join(dir('main'), 'onnx')).sort()).toEqual(
      ['model.onnx', 'model_fp16.onnx', 'model_q4.onnx', 'model_q4f16.onnx', 'model_quantized.onnx'].sort(),
    );
    const external = readdirSync(join(dir('external'), 'onnx'));
    expect(external.filter((f) => f.startsWith('model.onnx_data')).length).toBeGreaterThan(2);
    expect(readdirSync(dir('genai')).sort()).toEqual(
      ['genai_config.json', 'model.onnx', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json'].sort(),
    );
  });

  describe.each(variants.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    let provider: OnnxProvider;
    beforeAll(async () => {
      provider = await createOnnxProvider({ id: v.name, path: v.folder, dtype: v.dtype, threads: 1, maxBatchSize: 8 });
    });
    afterAll(() => provider?.close());

    it('streams, and 8 concurrent requests get what each gets alone', async () => {
      const alone: number[][] = [];
      for (const prompt of PROMPTS) {
        alone.push((await provider.generateTokens(request(prompt, { maxTokens: NEW_TOKENS }))).tokenIds);
      }
      const together = await Promise.all(
        PROMPTS.map((p) => provider.generateTokens(request(p, { maxTokens: NEW_TOKENS }))),
      );
      // Batch sizes take different kernel paths (logits differ by ~1e-6, measured): on random
      // weights a near-tie can flip late in a sequence, so allow one sequence to diverge after
      // its first 8 tokens; everything else must be identical.
      const same = together.filter((r, i) => JSON.stringify(r.tokenIds) === JSON.stringify(alone[i])).length;
      expect(same).toBeGreaterThanOrEqual(PROMPTS.length - 1);
      together.forEach((r, i) => expect(r.tokenIds.slice(0, 8)).toEqual(alone[i].slice(0, 8)));
      // random weights end some prompts early on EOS; most must run the full length
      expect(alone.filter((t) => t.length === NEW_TOKENS).length).toBeGreaterThan(PROMPTS.length / 2);
      let streamed = '';
      for await (const e of provider.stream(request(PROMPTS[0], { maxTokens: NEW_TOKENS }))) {
        if (e.type === 'delta') streamed += e.text;
      }
      expect(streamed).toBe((await provider.generate(request(PROMPTS[0], { maxTokens: NEW_TOKENS }))).text);
      reference.set(v.name, alone.flat());
    });

    if (v.tfjs) {
      it('picks the same greedy tokens as transformers.js on the same file, 8 prompts × 32 tokens', async () => {
        const { AutoModelForCausalLM, AutoTokenizer, Tensor } = await transformers();
        const name = basename(v.folder);
        const tokenizer = await AutoTokenizer.from_pretrained(name);
        const model = await AutoModelForCausalLM.from_pretrained(name, {
          dtype: (v.dtype ?? 'fp32') as 'fp32',
          device: 'cpu',
        });
        try {
          for (const prompt of PROMPTS) {
            const ids = Array.from(tokenizer(prompt).input_ids.data as BigInt64Array, Number);
            const out = (await model.generate({
              input_ids: new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
              attention_mask: new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
              max_new_tokens: NEW_TOKENS,
              do_sample: false,
            })) as { tolist(): bigint[][] };
            const theirs = out.tolist()[0].map(Number).slice(ids.length);
            const ours = await provider.generateTokens(request(prompt, { maxTokens: NEW_TOKENS }));
            expect(ours.tokenIds).toEqual(theirs);
          }
        } finally {
          await model.dispose();
        }
      });
    }
  });

  it('the GenAI folder and the external-data folder give exactly the fp32 tokens (same weights)', () => {
    expect(reference.get('fp32')?.length).toBeGreaterThan(PROMPTS.length * 8);
    expect(reference.get('GenAI folder')).toEqual(reference.get('fp32'));
    expect(reference.get('external data in several files')).toEqual(reference.get('fp32'));
  });
});

describe('refusing folders that do not match the configuration', () => {
  const folder = join(root, 'refuse');
  beforeAll(() => buildModel({ outDir: folder, arch: 'llama', layers: 1, hidden: 32, heads: 4, seed: 3 }));
  const reason = async (opts: { dtype?: string; file?: string }) => {
    const err = await createOnnxProvider({ id: 'x', path: folder, ...opts }).then(
      (p) => p.close().then(() => null),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ModelLoadError);
    return (err as ModelLoadError).reason;
  };

  it('lists the graphs it found, with their dtypes', async () => {
    await writeVariant(folder, { dtype: 'q4' });
    expect(await reason({ dtype: 'fp16' })).toBe(
      'not found: dtype fp16 expects onnx/model_fp16.onnx or onnx/decoder_model_merged_fp16.onnx ' +
        '(present: onnx/model.onnx (fp32), onnx/model_q4.onnx (q4))',
    );
    expect(await reason({ file: 'onnx/model_int4.onnx' })).toBe(
      'not found (graphs present: onnx/model.onnx (fp32), onnx/model_q4.onnx (q4))',
    );
  });

  it('an explicit file wins over dtype', async () => {
    const p = await createOnnxProvider({ id: 'x', path: folder, dtype: 'fp16', file: 'model_q4.onnx' });
    try {
      expect((await p.generateTokens(request('hi', { maxTokens: 3 }))).tokenIds).toHaveLength(3);
    } finally {
      await p.close();
    }
  });

  it('names the missing external data file', async () => {
    await writeVariant(folder, { dtype: 'fp16', externalData: true, maxDataFileBytes: 16 * 1024 });
    const { rmSync } = await import('node:fs');
    rmSync(join(folder, 'onnx', 'model_fp16.onnx_data_1'));
    expect(await reason({ dtype: 'fp16' })).toMatch(
      /^external data file missing: model_fp16\.onnx_data_1 \(present: model_fp16\.onnx_data, model_fp16\.onnx_data_2/,
    );
  });
});

describe('inline weights memory-mapped from the graph file', () => {
  const folder = join(root, 'mapped');
  // Big enough that weights pass the mapping threshold (64 KiB), 4-bit tied embeddings included.
  const spec = { arch: 'llama' as const, layers: 2, hidden: 512, heads: 8, kvHeads: 2, intermediate: 1024 };
  beforeAll(async () => {
    await buildModel({ outDir: folder, ...spec, tieEmbeddings: true, seed: 5 });
    await writeVariant(folder, { dtype: 'q4', blockSize: 32 });
  });

  const load = (dtype: string, mapWeights: boolean) => {
    const f = readModelFolder(folder, dtype);
    const config = parseModelConfig(f.config, f.generationConfig, f.configFile);
    return ModelRunner.load(f, config, { device: 'cpu', threads: 1, mapWeights });
  };

  it.each(['fp32', 'q4'])(
    '%s: mapped and copied weights give identical logits over a prefill and 8 steps',
    async (dtype) => {
      const [mapped, copied] = [await load(dtype, true), await load(dtype, false)];
      try {
        expect(mapped.mappedWeights).toBeGreaterThan(0);
        expect(copied.mappedWeights).toBe(0);
        expect(mapped.graphChanges).toEqual(copied.graphChanges);
        const run = async (runner: ModelRunner) => {
          const rows: number[][] = [];
          let past = null;
          let ids = [10, 20, 30, 40];
          for (let step = 0; step < 9; step++) {
            const pastLength: number = past ? (past[0].dims[2] as number) : 0;
            const out = await runner.forward({
              ids,
              batch: 1,
              seqLen: ids.length,
              pads: [0],
              past,
              pastLength,
              want: 'logits',
            });
            const row = Array.from(out.logits?.[0] ?? []);
            rows.push(row);
            past = out.presents;
            ids = [row.indexOf(Math.max(...row))];
          }
          return rows;
        };
        const [a, b] = [await run(mapped), await run(copied)];
        expect(a[0].length).toBe(mapped.vocabSize);
        expect(a).toEqual(b);
      } finally {
        await mapped.release();
        await copied.release();
      }
    },
  );

  it('points each weight at its own bytes in the file; the tied lookup gets its own reference', () => {
    const file = join(folder, 'onnx', 'model_q4.onnx');
    const bytes = readFileSync(file);
    const original = onnx.ModelProto.decode(bytes);
    const analysis = analyzeGraph(bytes, true, 'model_q4.onnx');
    const edited = onnx.ModelProto.decode(analysis.edited?.bytes ?? new Uint8Array(0));
    expect(analysis.mappedWeights).toBeGreaterThan(0);
    const entry = (t: onnx.ITensorProto, key: string) => t.externalData?.find((e) => e.key === key)?.value;
    const before = new Map((original.graph?.initializer ?? []).map((t) => [t.name, t]));
    let checked = 0;
    for (const t of edited.graph?.initializer ?? []) {
      if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
      expect(entry(t, 'location')).toBe('model_q4.onnx');
      const offset = Number(entry(t, 'offset'));
      const length = Number(entry(t, 'length'));
      const raw = before.get(t.name?.replace(/\/lookup$/, ''))?.rawData;
      expect(Buffer.from(bytes.subarray(offset, offset + length)).equals(Buffer.from(raw ?? []))).toBe(true);
      checked++;
    }
    expect(checked).toBe(analysis.mappedWeights + 1);
    // The embedding lookup reads the head's 4-bit weights through a second reference to them.
    const lookup = edited.graph?.node?.find((n) => n.opType === 'GatherBlockQuantized');
    const head = edited.graph?.node?.find((n) => n.opType === 'MatMulNBits' && n.output?.[0] === 'logits');
    expect(lookup?.input?.[0]).toBe(`${head?.input?.[1]}/lookup`);
  });

  it('gives lookups one shared reference, and only for tables another op reads too', () => {
    const table = (name: string) =>
      onnx.TensorProto.create({
        name,
        dims: [256, 80],
        dataType: onnx.TensorProto.DataType.FLOAT,
        rawData: new Uint8Array(256 * 80 * 4).fill(1),
      });
    const node = (opType: string, input: string[], output: string) =>
      onnx.NodeProto.create({ opType, input, output: [output] });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        initializer: [
          table('tied'),
          table('untied'),
          onnx.TensorProto.create({ name: 'small', dims: [4], dataType: 1, rawData: new Uint8Array(16) }),
        ],
        node: [
          node('Gather', ['tied', 'ids'], 'a'),
          node('Gather', ['tied', 'ids'], 'b'),
          node('Gather', ['untied', 'ids'], 'c'),
          node('MatMul', ['x', 'tied'], 'd'),
        ],
      },
    });
    const bytes = onnx.ModelProto.encode(model).finish();
    const analysis = analyzeGraph(bytes, false, 'g.onnx');
    expect(analysis.mappedWeights).toBe(2);
    const graph = onnx.ModelProto.decode(analysis.edited?.bytes ?? new Uint8Array(0)).graph;
    expect(graph?.node?.map((n) => n.input?.[0])).toEqual(['tied/lookup', 'tied/lookup', 'untied', 'x']);
    expect(graph?.node?.[3].input?.[1]).toBe('tied');
    expect(graph?.initializer?.map((t) => t.name)).toEqual(['tied', 'untied', 'small', 'tied/lookup']);
    expect(graph?.initializer?.[2].rawData?.length).toBe(16);
  });
});

describe('encoder weights memory-mapped from the graph file', () => {
  const folder = join(root, 'encoder');
  beforeAll(async () => {
    // hidden 256: the layers' weights (256 KiB and more) pass the mapping threshold
    await buildEncoder({ outDir: folder, layers: 2, hidden: 256, heads: 4, seed: 9 });
  });

  it('the provider maps its weights; mapped and copied sessions give identical hidden states', async () => {
    const provider = await createEncoderProvider({ id: 'e', path: folder, threads: 1 });
    const file = join(folder, 'onnx', 'model.onnx');
    const mapped = await createMappedSession(file, { device: 'cpu', threads: 1 });
    const copied = await createSession(file, file, { device: 'cpu', threads: 1 });
    try {
      expect(provider.mappedWeights).toBeGreaterThan(0);
      expect(mapped.mappedWeights).toBe(provider.mappedWeights);
      const [vector] = await provider.embed({ rows: [[2, 10, 11, 12, 3]], encodingFormat: 'float' });
      expect((vector as number[]).length).toBe(256);
      const ids = [2n, 10n, 11n, 12n, 3n];
      const feeds = (names: readonly string[]) =>
        Object.fromEntries(
          names.map((n) => [
            n,
            new ort.Tensor(
              'int64',
              BigInt64Array.from(n === 'input_ids' ? ids : ids.map(() => (n === 'attention_mask' ? 1n : 0n))),
              [1, 5],
            ),
          ]),
        );
      const a = await mapped.session.run(feeds(mapped.session.inputNames));
      const b = await copied.session.run(feeds(copied.session.inputNames));
      expect(a.last_hidden_state.dims).toEqual([1, 5, 256]);
      expect(Array.from(a.last_hidden_state.data as Float32Array)).toEqual(
        Array.from(b.last_hidden_state.data as Float32Array),
      );
    } finally {
      await provider.close();
      await mapped.session.release();
      await copied.session.release();
    }
  });
});
