import { basename } from 'node:path';
import { createOnnxProvider } from '../../src/models/onnx';
import { modelRoot, request, type TestModel } from './engine-fixtures';

/**
 * transformers.js (v4, local files only) loading the same folder must pick the same greedy
 * tokens as this engine, for every supported architecture and export flavour.
 */
const models = modelRoot('parity');

async function transformers() {
  const t = await import('@huggingface/transformers');
  t.env.allowRemoteModels = false;
  t.env.allowLocalModels = true;
  t.env.localModelPath = models.root;
  return t;
}

const cases: Array<[string, TestModel]> = [
  ['gpt2', { arch: 'gpt2' }],
  ['llama', { arch: 'llama', kvHeads: 2 }],
  ['qwen2', { arch: 'qwen2', kvHeads: 2 }],
  ['mistral', { arch: 'mistral', kvHeads: 1 }],
  ['phi3', { arch: 'phi3' }],
  ['gpt2 without position_ids', { arch: 'gpt2', positionIds: false }],
  ['llama as decoder_model_merged.onnx', { arch: 'llama', legacyName: true }],
  ['qwen2 int8 (variant q8, model_quantized.onnx)', { arch: 'qwen2', kvHeads: 2, quantize: true }],
];
const NEW_TOKENS = 20;

describe.each(cases)('greedy tokens match transformers.js: %s', (name, opts) => {
  it('for a raw prompt and for a chat', async () => {
    const quantize = opts.quantize === true;
    const dir = await models.build(`case-${cases.findIndex((c) => c[0] === name)}`, { seed: 22, ...opts });
    const { AutoModelForCausalLM, AutoTokenizer, Tensor } = await transformers();
    const folderName = basename(dir);
    const tokenizer = await AutoTokenizer.from_pretrained(folderName);
    const model = await AutoModelForCausalLM.from_pretrained(folderName, {
      dtype: quantize ? 'q8' : 'fp32',
      device: 'cpu',
      ...(opts.legacyName ? { model_file_name: 'decoder_model_merged' } : {}),
    });
    const provider = await createOnnxProvider({ id: name, path: dir, threads: 1, variant: quantize ? 'q8' : 'fp32' });
    try {
      const reference = async (ids: number[]) => {
        const input_ids = new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
        const attention_mask = new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
        const out = (await model.generate({
          input_ids,
          attention_mask,
          max_new_tokens: NEW_TOKENS,
          do_sample: false,
        })) as { tolist(): bigint[][] };
        return out.tolist()[0].map(Number).slice(ids.length);
      };

      const prompt = 'The quick brown fox';
      const promptIds = Array.from(tokenizer(prompt).input_ids.data as BigInt64Array, Number);
      const ours = await provider.generateTokens(request(prompt, { maxTokens: NEW_TOKENS }));
      expect(ours.usage.promptTokens).toBe(promptIds.length);
      expect(ours.tokenIds).toEqual(await reference(promptIds));
      expect(ours.tokenIds.length).toBeGreaterThan(3);

      const messages = [{ role: 'user' as const, content: 'Say something.' }];
      const chatIds = tokenizer.apply_chat_template(messages, {
        add_generation_prompt: true,
        return_tensor: false,
        return_dict: false,
      }) as number[];
      expect(await provider.countTokens(messages)).toBe(chatIds.length);
      const chat = await provider.generateTokens({ messages, params: request('', { maxTokens: NEW_TOKENS }).params });
      expect(chat.tokenIds).toEqual(await reference(chatIds));
      expect(chat.tokenIds.length).toBeGreaterThan(3);
    } finally {
      await provider.close();
      await model.dispose();
    }
  });
});
