import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_MODEL_SPEC, DEFAULT_MODEL_SPEC, ensureDefaultModel, isCompleteModelDir } from './default-model';
import { OrtDecoder } from './ort-decoder';

const root = mkdtempSync(join(tmpdir(), 'model-tools-default-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const readJson = (dir: string, f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));

describe('ensureDefaultModel', () => {
  const dir = join(root, 'models', 'tiny');

  it('builds the default model into a missing folder, and it chats', async () => {
    expect(await ensureDefaultModel(dir)).toBe(true);
    expect(await isCompleteModelDir(dir)).toBe(true);
    // No temporary build folder is left next to it.
    expect(readdirSync(join(root, 'models'))).toEqual(['tiny']);

    const cfg = readJson(dir, 'config.json');
    expect(cfg).toMatchObject({ model_type: 'llama', vocab_size: 50259, num_hidden_layers: DEFAULT_MODEL_SPEC.layers });
    expect(cfg.hidden_size).toBeGreaterThanOrEqual(128);
    expect(cfg.hidden_size).toBeLessThanOrEqual(256);
    const tc = readJson(dir, 'tokenizer_config.json');
    const prompt = new Template(tc.chat_template).render({
      messages: [{ role: 'user', content: 'Hi!' }],
      add_generation_prompt: true,
    });
    const ids = new Tokenizer(readJson(dir, 'tokenizer.json'), tc).encode(prompt, { add_special_tokens: false }).ids;
    expect(ids[0]).toBe(50257);
    const dec = await OrtDecoder.load(join(dir, 'onnx/model.onnx'));
    const out = await dec.greedy(ids, 16);
    expect(new Set(out).size).toBeGreaterThan(4);
    await dec.release();
  });

  it('leaves a complete folder alone', async () => {
    const before = statSync(join(dir, 'onnx/model.onnx')).mtimeMs;
    expect(await ensureDefaultModel(dir)).toBe(false);
    expect(statSync(join(dir, 'onnx/model.onnx')).mtimeMs).toBe(before);
  });

  it('completes an interrupted folder', async () => {
    unlinkSync(join(dir, 'onnx/model.onnx'));
    writeFileSync(join(dir, 'tokenizer.json'), '{"trunc');
    expect(await isCompleteModelDir(dir)).toBe(false);
    expect(await ensureDefaultModel(dir)).toBe(true);
    expect(await isCompleteModelDir(dir)).toBe(true);
  });

  it('never overwrites some other complete model', async () => {
    const other = join(root, 'other');
    mkdirSync(join(other, 'onnx'), { recursive: true });
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) writeFileSync(join(other, f), '{}');
    writeFileSync(join(other, 'onnx/decoder_model_merged.onnx'), 'x');
    expect(await ensureDefaultModel(other)).toBe(false);
    expect(readFileSync(join(other, 'config.json'), 'utf8')).toBe('{}');
  });
});

describe('BENCH_MODEL_SPEC', () => {
  it('builds a gpt2-shaped model, 4 layers, hidden 256, with exactly the GPT-2 vocabulary', async () => {
    const dir = join(root, 'bench');
    expect(await ensureDefaultModel(dir, BENCH_MODEL_SPEC)).toBe(true);
    expect(readJson(dir, 'config.json')).toMatchObject({
      model_type: 'gpt2',
      n_layer: 4,
      n_embd: 256,
      vocab_size: 50257,
      eos_token_id: 50256,
    });
    const dec = await OrtDecoder.load(join(dir, 'onnx/model.onnx'));
    expect((await dec.forward([[464, 2068]], [[1, 1]])).dims).toEqual([1, 2, 50257]);
    await dec.release();
  });
});
