import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOnnxProvider } from '../models/onnx';
import {
  buildRealTokenizerModel,
  REAL_TOKENIZER_FAMILIES,
  REAL_TOKENIZER_NAMES,
  readRealTokenizer,
} from './real-tokenizer-model';

const root = mkdtempSync(join(tmpdir(), 'llm-server-real-tokenizer-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const GREEDY = { maxTokens: 6, temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, stop: [] };

describe.each(REAL_TOKENIZER_NAMES)('a generated model with the real %s tokenizer', (name) => {
  it('loads in the engine, renders the real template and samples over the full vocabulary', async () => {
    const dir = join(root, name);
    const spec = await buildRealTokenizerModel({
      outDir: dir,
      tokenizer: name,
      layers: 1,
      hidden: 32,
      heads: 2,
      seed: 5,
    });
    const family = REAL_TOKENIZER_FAMILIES[name];
    expect(spec.vocabSize).toBe(family.vocabSize);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      vocab_size: family.vocabSize,
      model_type: family.arch,
      eos_token_id: family.stopTokenIds,
    });
    // The family's files are copied as they are.
    expect(JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'))).toEqual(
      readRealTokenizer(name).tokenizerConfig,
    );

    const provider = await createOnnxProvider({ id: name, path: dir, threads: 1 });
    try {
      const messages = [{ role: 'user' as const, content: 'Hello there' }];
      const out = await provider.generateTokens({ messages, params: { ...GREEDY, temperature: 1, seed: 3 } });
      expect(out.usage.promptTokens).toBe(await provider.countTokens(messages));
      expect(out.usage.completionTokens).toBeGreaterThan(0);
      // Sampled ids span the real vocabulary (random weights: almost surely above the 32k range).
      expect(Math.max(...out.tokenIds)).toBeLessThan(family.vocabSize);
      expect(Math.max(...out.tokenIds)).toBeGreaterThan(32000);
    } finally {
      await provider.close();
    }
  });
});

describe('buildRealTokenizerModel with a chat template of its own', () => {
  it('writes that template and keeps the rest of the family tokenizer_config.json', async () => {
    const dir = join(root, 'override');
    const chatTemplate = '{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}';
    await buildRealTokenizerModel({
      outDir: dir,
      tokenizer: 'llama3_1',
      layers: 1,
      hidden: 32,
      heads: 2,
      chatTemplate,
    });
    const written = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
    expect(written).toEqual({ ...readRealTokenizer('llama3_1').tokenizerConfig, chat_template: chatTemplate });
  });
});
