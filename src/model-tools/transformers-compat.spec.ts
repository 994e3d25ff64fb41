import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel } from './build-model';
import { OrtDecoder } from './ort-decoder';
import { quantizeModelFolder } from './quantize';
import { type Architecture, type BuildModelOptions, onnxFileName } from './spec';

/**
 * The folders must load in @huggingface/transformers v4 from local files only and generate
 * greedily; the tokens should also match our own onnxruntime loop.
 */
const root = mkdtempSync(join(tmpdir(), 'model-tools-tfjs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const cases: Array<[string, Architecture, Partial<BuildModelOptions>]> = [
  ['gpt2', 'gpt2', {}],
  ['gpt2-nopos', 'gpt2', { positionIds: false }],
  ['llama', 'llama', { kvHeads: 2 }],
  ['qwen2', 'qwen2', { kvHeads: 2 }],
  ['mistral', 'mistral', { kvHeads: 1 }],
  ['phi3', 'phi3', {}],
  ['llama-legacy', 'llama', { legacyName: true }],
];

async function transformers() {
  const t = await import('@huggingface/transformers');
  t.env.allowRemoteModels = false;
  t.env.allowLocalModels = true;
  t.env.localModelPath = root;
  return t;
}

describe.each(cases)('transformers.js loads the %s folder', (name, arch, extra) => {
  it('and generates greedily the same tokens as onnxruntime directly', async () => {
    const spec = await buildModel({
      outDir: join(root, name),
      arch,
      layers: 2,
      hidden: 32,
      heads: 4,
      seed: 11,
      ...extra,
    });
    const { AutoModelForCausalLM, AutoTokenizer } = await transformers();
    const tokenizer = await AutoTokenizer.from_pretrained(name);
    const model = await AutoModelForCausalLM.from_pretrained(name, {
      dtype: 'fp32',
      device: 'cpu',
      ...(spec.legacyName ? { model_file_name: 'decoder_model_merged' } : {}),
    });
    try {
      const inputs = tokenizer('The quick brown fox');
      const out = (await model.generate({ ...inputs, max_new_tokens: 12, do_sample: false, eos_token_id: [] })) as {
        tolist(): bigint[][];
      };
      const promptIds = Array.from(inputs.input_ids.data as BigInt64Array, Number);
      const generated = out.tolist()[0].map(Number).slice(promptIds.length);
      expect(generated).toHaveLength(12);

      const dec = await OrtDecoder.load(join(root, name, onnxFileName(spec)));
      expect(await dec.greedy(promptIds, 12)).toEqual(generated);
      await dec.release();
    } finally {
      await model.dispose();
    }
  });
});

describe('transformers.js loads the int8 model', () => {
  it('as dtype q8 and generates the same tokens as onnxruntime directly', async () => {
    const name = 'llama-q8';
    await buildModel({ outDir: join(root, name), arch: 'llama', layers: 2, hidden: 32, heads: 4, kvHeads: 2, seed: 5 });
    const q = await quantizeModelFolder(join(root, name));
    const { AutoModelForCausalLM, AutoTokenizer } = await transformers();
    const tokenizer = await AutoTokenizer.from_pretrained(name);
    const model = await AutoModelForCausalLM.from_pretrained(name, { dtype: 'q8', device: 'cpu' });
    try {
      const inputs = tokenizer('Hello there');
      const out = (await model.generate({ ...inputs, max_new_tokens: 8, do_sample: false, eos_token_id: [] })) as {
        tolist(): bigint[][];
      };
      const promptIds = Array.from(inputs.input_ids.data as BigInt64Array, Number);
      const dec = await OrtDecoder.load(q.output);
      expect(await dec.greedy(promptIds, 8)).toEqual(out.tolist()[0].map(Number).slice(promptIds.length));
      await dec.release();
    } finally {
      await model.dispose();
    }
  });
});
