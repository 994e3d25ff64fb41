import { ModelLoadError } from './errors';
import type { IoNames } from './graph-io';
import { OPTIMUM_NAMES } from './graph-io';
import { SUPPORTED_MODEL_TYPES, type ModelConfig, type ModelType } from './model-config';

/**
 * An ONNX Runtime GenAI folder's `genai_config.json`: model type, context length, sizes, EOS ids
 * and the decoder's file and tensor names (KV layout is [batch, kv_heads, past, head_size]).
 */
export interface GenAiModel {
  /** The decoder graph, relative to the folder. */
  filename: string;
  config: ModelConfig;
  names: IoNames;
}

type Json = Record<string, unknown>;

export function parseGenAiConfig(json: Json, file: string): GenAiModel {
  const fail = (reason: string): never => {
    throw new ModelLoadError(file, reason);
  };
  const obj = (v: unknown, where: string): Json =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : fail(`has no "${where}" object`);
  const model = obj(json.model, 'model');
  const decoder = obj(model.decoder, 'model.decoder');
  const type = model.type;
  if (typeof type !== 'string') fail('has no "model.type"');
  if (!(SUPPORTED_MODEL_TYPES as readonly string[]).includes(type as string) || type === 'gpt2') {
    fail(
      `model.type "${String(type)}" is not supported (supported: ${SUPPORTED_MODEL_TYPES.filter((t) => t !== 'gpt2').join(', ')})`,
    );
  }
  const int = (o: Json, key: string, where: string, fallback?: number): number => {
    const v = o[key] ?? fallback;
    if (!Number.isInteger(v) || (v as number) <= 0) fail(`"${where}.${key}" must be a positive integer`);
    return v as number;
  };
  const numHeads = int(decoder, 'num_attention_heads', 'model.decoder');
  const hidden = int(decoder, 'hidden_size', 'model.decoder');
  const numKvHeads = int(decoder, 'num_key_value_heads', 'model.decoder', numHeads);
  const headDim = int(decoder, 'head_size', 'model.decoder', hidden / numHeads);
  if (numHeads % numKvHeads !== 0) fail(`${numHeads} attention heads are not a multiple of ${numKvHeads} kv heads`);
  const filename = decoder.filename;
  if (typeof filename !== 'string' || !filename) fail('has no "model.decoder.filename"');
  const inputs = (decoder.inputs ?? {}) as Json;
  const outputs = (decoder.outputs ?? {}) as Json;
  const name = (o: Json, key: string, fallback: string) => (typeof o[key] === 'string' ? (o[key] as string) : fallback);
  const ids = (v: unknown) => (Array.isArray(v) ? v : [v]).filter((x): x is number => Number.isInteger(x) && x >= 0);
  const eosIds = ids(model.eos_token_id);
  const search = (json.search ?? {}) as Json;
  return {
    filename: filename as string,
    names: {
      inputIds: name(inputs, 'input_ids', OPTIMUM_NAMES.inputIds),
      attentionMask: name(inputs, 'attention_mask', OPTIMUM_NAMES.attentionMask),
      positionIds: name(inputs, 'position_ids', OPTIMUM_NAMES.positionIds),
      pastKey: name(inputs, 'past_key_names', OPTIMUM_NAMES.pastKey),
      pastValue: name(inputs, 'past_value_names', OPTIMUM_NAMES.pastValue),
      logits: name(outputs, 'logits', OPTIMUM_NAMES.logits),
      presentKey: name(outputs, 'present_key_names', OPTIMUM_NAMES.presentKey),
      presentValue: name(outputs, 'present_value_names', OPTIMUM_NAMES.presentValue),
    },
    config: {
      modelType: type as ModelType,
      numLayers: int(decoder, 'num_hidden_layers', 'model.decoder'),
      numHeads,
      numKvHeads,
      headDim,
      vocabSize: int(model, 'vocab_size', 'model'),
      contextLength: int(model, 'context_length', 'model', search.max_length as number | undefined),
      eosIds: [...new Set(eosIds)],
      bosId: ids(model.bos_token_id)[0],
      padId: ids(model.pad_token_id)[0],
    },
  };
}
