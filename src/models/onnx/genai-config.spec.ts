import { ModelLoadError } from './errors';
import { parseGenAiConfig } from './genai-config';

/** Shaped like the genai_config.json of Microsoft's Phi-3 ONNX Runtime GenAI folders. */
const phi3 = {
  model: {
    bos_token_id: 1,
    context_length: 4096,
    decoder: {
      filename: 'phi3-mini-4k-instruct-cpu-int4-rtn-block-32-acc-level-4.onnx',
      head_size: 96,
      hidden_size: 3072,
      inputs: {
        input_ids: 'input_ids',
        attention_mask: 'attention_mask',
        past_key_names: 'past_key_values.%d.key',
        past_value_names: 'past_key_values.%d.value',
      },
      outputs: { logits: 'logits', present_key_names: 'present.%d.key', present_value_names: 'present.%d.value' },
      num_attention_heads: 32,
      num_hidden_layers: 32,
      num_key_value_heads: 32,
    },
    eos_token_id: [32007, 32001, 32000],
    pad_token_id: 32000,
    type: 'phi3',
    vocab_size: 32064,
  },
  search: { max_length: 4096, past_present_share_buffer: true },
};

const reason = (json: unknown): string => {
  try {
    parseGenAiConfig(json as Record<string, unknown>, '/m/genai_config.json');
  } catch (err) {
    expect(err).toBeInstanceOf(ModelLoadError);
    return (err as ModelLoadError).reason;
  }
  throw new Error('expected a ModelLoadError');
};

describe('genai_config.json', () => {
  it('reads sizes, context length, EOS ids, the graph file and tensor names', () => {
    const g = parseGenAiConfig(phi3, '/m/genai_config.json');
    expect(g.filename).toBe(phi3.model.decoder.filename);
    expect(g.config).toEqual({
      modelType: 'phi3',
      numLayers: 32,
      numHeads: 32,
      numKvHeads: 32,
      headDim: 96,
      vocabSize: 32064,
      contextLength: 4096,
      eosIds: [32007, 32001, 32000],
      bosId: 1,
      padId: 32000,
    });
    expect(g.names).toMatchObject({
      pastKey: 'past_key_values.%d.key',
      presentValue: 'present.%d.value',
      logits: 'logits',
    });
  });

  it('takes custom tensor names and falls back to search.max_length for the context', () => {
    const custom = structuredClone(phi3);
    delete (custom.model as { context_length?: number }).context_length;
    custom.model.decoder.inputs.past_key_names = 'past.%d.k';
    const g = parseGenAiConfig(custom, 'x');
    expect(g.config.contextLength).toBe(4096);
    expect(g.names.pastKey).toBe('past.%d.k');
  });

  it('says what is missing or unsupported', () => {
    expect(reason({})).toBe('has no "model" object');
    expect(reason({ model: { type: 'phi3' } })).toBe('has no "model.decoder" object');
    expect(reason({ model: { ...phi3.model, type: 'whisper' } })).toBe(
      'model.type "whisper" is not supported (supported: llama, qwen2, mistral, phi3)',
    );
    const noFile = structuredClone(phi3);
    noFile.model.decoder.filename = '';
    expect(reason(noFile)).toBe('has no "model.decoder.filename"');
    const badHeads = structuredClone(phi3);
    badHeads.model.decoder.num_key_value_heads = 5;
    expect(reason(badHeads)).toBe('32 attention heads are not a multiple of 5 kv heads');
  });
});
