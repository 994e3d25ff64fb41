import type { ModelSpec } from './spec';
import type { TokenizerFiles } from './tokenizer-writer';

const ARCH_CLASS: Record<ModelSpec['arch'], string> = {
  gpt2: 'GPT2LMHeadModel',
  llama: 'LlamaForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  mistral: 'MistralForCausalLM',
  phi3: 'Phi3ForCausalLM',
};

/** Fields real HF configs carry for each architecture (beyond the shared sizes). */
function archFields(spec: ModelSpec): Record<string, unknown> {
  switch (spec.arch) {
    case 'gpt2':
      return {
        activation_function: 'gelu_new',
        layer_norm_epsilon: spec.normEps,
        n_ctx: spec.maxPositions,
        n_embd: spec.hidden,
        n_head: spec.heads,
        n_inner: spec.intermediate,
        n_layer: spec.layers,
        n_positions: spec.maxPositions,
        scale_attn_weights: true,
        attn_pdrop: 0,
        embd_pdrop: 0,
        resid_pdrop: 0,
      };
    case 'llama':
      return { attention_bias: false, mlp_bias: false, pretraining_tp: 1 };
    case 'qwen2':
      return { use_sliding_window: false, sliding_window: null, max_window_layers: spec.layers };
    case 'mistral':
      return { sliding_window: null };
    case 'phi3':
      return {
        original_max_position_embeddings: spec.maxPositions,
        sliding_window: null,
        resid_pdrop: 0,
        embd_pdrop: 0,
        partial_rotary_factor: 1.0,
      };
  }
}

export function makeConfig(spec: ModelSpec, tok: TokenizerFiles): Record<string, unknown> {
  const rope =
    spec.arch === 'gpt2'
      ? {}
      : {
          hidden_act: 'silu',
          rms_norm_eps: spec.normEps,
          rope_theta: spec.ropeTheta,
          rope_scaling: null,
          head_dim: spec.headDim,
        };
  const config: Record<string, unknown> = {
    architectures: [ARCH_CLASS[spec.arch]],
    model_type: spec.arch,
    vocab_size: spec.vocabSize,
    hidden_size: spec.hidden,
    num_hidden_layers: spec.layers,
    num_attention_heads: spec.heads,
    num_key_value_heads: spec.kvHeads,
    intermediate_size: spec.intermediate,
    max_position_embeddings: spec.maxPositions,
    ...rope,
    ...archFields(spec),
    attention_dropout: 0,
    initializer_range: 0.02,
    bos_token_id: tok.bosTokenId,
    eos_token_id: tok.eosTokenId,
    pad_token_id: tok.padTokenId,
    tie_word_embeddings: spec.tieEmbeddings,
    torch_dtype: 'float32',
    transformers_version: '4.44.0',
    use_cache: true,
  };
  return Object.fromEntries(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function makeGenerationConfig(tok: TokenizerFiles): Record<string, unknown> {
  return {
    bos_token_id: tok.bosTokenId,
    eos_token_id: tok.stopTokenIds.length === 1 ? tok.stopTokenIds[0] : tok.stopTokenIds,
    pad_token_id: tok.padTokenId,
    do_sample: false,
    transformers_version: '4.44.0',
  };
}
