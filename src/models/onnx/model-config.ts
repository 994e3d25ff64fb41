import { ModelLoadError } from './errors';

/** Architectures whose ONNX exports share the decoder-with-past interface this engine drives. */
export const SUPPORTED_MODEL_TYPES = ['gpt2', 'llama', 'qwen2', 'mistral', 'phi3'] as const;
export type ModelType = (typeof SUPPORTED_MODEL_TYPES)[number];

/** What the engine needs from config.json + generation_config.json, normalised across families. */
export interface ModelConfig {
  modelType: ModelType;
  numLayers: number;
  numHeads: number;
  /** Grouped-query models have fewer kv heads than attention heads. */
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  /** Prompt + completion tokens the model can attend over (`max_position_embeddings`). */
  contextLength: number;
  /** Any of these ends generation (config and generation_config merged). */
  eosIds: number[];
  bosId?: number;
  padId?: number;
}

type Json = Record<string, unknown>;

export function parseModelConfig(config: Json, generation: Json | undefined, configFile: string): ModelConfig {
  const fail = (reason: string): never => {
    throw new ModelLoadError(configFile, reason);
  };
  const modelType = config.model_type;
  if (typeof modelType !== 'string') fail('has no "model_type"');
  if (!(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType as string)) {
    fail(`model_type "${String(modelType)}" is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  }
  const int = (...keys: string[]): number => {
    for (const key of keys) {
      const value = config[key];
      if (value === undefined || value === null) continue;
      if (!Number.isInteger(value) || (value as number) <= 0) fail(`"${key}" must be a positive integer`);
      return value as number;
    }
    return fail(`is missing "${keys[0]}"`);
  };
  const optionalInt = (...keys: string[]): number | undefined =>
    keys.some((k) => config[k] !== undefined && config[k] !== null) ? int(...keys) : undefined;

  const gpt2 = modelType === 'gpt2';
  const numHeads = gpt2 ? int('n_head', 'num_attention_heads') : int('num_attention_heads');
  const hidden = gpt2 ? int('n_embd', 'hidden_size') : int('hidden_size');
  const numKvHeads = gpt2 ? numHeads : (optionalInt('num_key_value_heads') ?? numHeads);
  const headDim = optionalInt('head_dim') ?? hidden / numHeads;
  if (!Number.isInteger(headDim)) fail(`hidden size ${hidden} is not divisible by ${numHeads} heads`);
  if (numHeads % numKvHeads !== 0) fail(`${numHeads} attention heads are not a multiple of ${numKvHeads} kv heads`);

  const eosIds = [...tokenIds(config.eos_token_id), ...tokenIds(generation?.eos_token_id)];
  const bosId = tokenIds(generation?.bos_token_id ?? config.bos_token_id)[0];
  const padId = tokenIds(generation?.pad_token_id ?? config.pad_token_id)[0];
  return {
    modelType: modelType as ModelType,
    numLayers: gpt2 ? int('n_layer', 'num_hidden_layers') : int('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: int('vocab_size'),
    contextLength: gpt2 ? int('n_positions', 'n_ctx', 'max_position_embeddings') : int('max_position_embeddings'),
    eosIds: [...new Set(eosIds)],
    bosId,
    padId,
  };
}

/** eos/bos/pad ids may be a number, a list of numbers, or absent. */
function tokenIds(value: unknown): number[] {
  const list = Array.isArray(value) ? value : [value];
  return list.filter((v): v is number => Number.isInteger(v) && (v as number) >= 0);
}

/** A copy of `config` whose EOS ids also include generation_config.json's. */
export function withGenerationEos(config: ModelConfig, generation: Json | undefined): ModelConfig {
  return { ...config, eosIds: [...new Set([...config.eosIds, ...tokenIds(generation?.eos_token_id)])] };
}
