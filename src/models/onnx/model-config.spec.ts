import { ModelLoadError } from './errors';
import { parseModelConfig } from './model-config';

const LLAMA = {
  model_type: 'llama',
  num_hidden_layers: 2,
  num_attention_heads: 8,
  num_key_value_heads: 2,
  hidden_size: 64,
  vocab_size: 100,
  max_position_embeddings: 512,
  eos_token_id: 2,
  bos_token_id: 1,
};

describe(parseModelConfig.name, () => {
  it('normalises gpt2 names and derives the head size', () => {
    const c = parseModelConfig(
      {
        model_type: 'gpt2',
        n_layer: 4,
        n_head: 4,
        n_embd: 256,
        vocab_size: 50257,
        n_positions: 1024,
        eos_token_id: 50256,
      },
      undefined,
      'config.json',
    );
    expect(c).toMatchObject({
      numLayers: 4,
      numHeads: 4,
      numKvHeads: 4,
      headDim: 64,
      contextLength: 1024,
      eosIds: [50256],
    });
  });

  it('reads grouped kv heads and merges eos ids from both configs', () => {
    const c = parseModelConfig(LLAMA, { eos_token_id: [2, 7], bos_token_id: 1 }, 'config.json');
    expect(c).toMatchObject({ numKvHeads: 2, headDim: 8, eosIds: [2, 7], bosId: 1 });
  });

  it('prefers an explicit head_dim', () => {
    expect(parseModelConfig({ ...LLAMA, head_dim: 16 }, undefined, 'config.json').headDim).toBe(16);
  });

  it.each([
    [{ ...LLAMA, model_type: undefined }, /no "model_type"/],
    [{ ...LLAMA, max_position_embeddings: undefined }, /missing "max_position_embeddings"/],
    [{ ...LLAMA, num_hidden_layers: 1.5 }, /"num_hidden_layers" must be a positive integer/],
    [{ ...LLAMA, num_key_value_heads: 3 }, /not a multiple of 3 kv heads/],
    [{ ...LLAMA, model_type: 't5' }, /"t5" is not supported/],
  ])('rejects a config that does not fit (%#)', (config, message) => {
    expect(() => parseModelConfig(config, undefined, '/m/config.json')).toThrow(ModelLoadError);
    expect(() => parseModelConfig(config, undefined, '/m/config.json')).toThrow(message);
  });
});
