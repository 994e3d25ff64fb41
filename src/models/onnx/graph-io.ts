import type * as ort from 'onnxruntime-node';
import { ModelLoadError } from './errors';
import type { ModelConfig } from './model-config';

export type KvType = 'float32' | 'float16';
export type IndexType = 'int64' | 'int32';

/** Tensor names of the decoder interface; `%d` stands for the layer index. */
export interface IoNames {
  inputIds: string;
  attentionMask: string;
  positionIds: string;
  logits: string;
  pastKey: string;
  pastValue: string;
  presentKey: string;
  presentValue: string;
}

/** The names Optimum and onnx-community exports use (ONNX Runtime GenAI's defaults too). */
export const OPTIMUM_NAMES: Readonly<IoNames> = Object.freeze({
  inputIds: 'input_ids',
  attentionMask: 'attention_mask',
  positionIds: 'position_ids',
  logits: 'logits',
  pastKey: 'past_key_values.%d.key',
  pastValue: 'past_key_values.%d.value',
  presentKey: 'present.%d.key',
  presentValue: 'present.%d.value',
});

/** The decoder-with-past interface of one graph, read from the session's metadata. */
export interface GraphIo {
  /** Input and output names (logits: the float32 copy when the graph edit added one). */
  names: IoNames;
  inputIdsType: IndexType;
  maskType: IndexType;
  /** Null when the graph derives positions itself (then sequences are never left-padded). */
  positionIdsType: IndexType | null;
  /** Merged decoders take a bool saying whether the past is real. */
  hasUseCacheBranch: boolean;
  pastNames: string[];
  presentNames: string[];
  kvHeads: number;
  headDim: number;
  kvType: KvType;
  logitsType: KvType;
  /** The logits' vocabulary dimension when the graph fixes it. */
  logitsVocab: number | null;
  /** Output holding argmax(logits) when the load-time graph edit added it. */
  argmaxName: string | null;
  /** Output holding the sampling probabilities when the load-time graph edit added it. */
  probsName: string | null;
}

export const ARGMAX_OUTPUT = 'next_token_argmax';
/** softmax(logits · inverse temperature) of the last position, added by the load-time graph edit. */
export const PROBS_OUTPUT = 'next_token_probs';
/** Per-row inverse temperature, [batch, 1, 1], an input of graphs with the probabilities output. */
export const INV_TEMPERATURE_INPUT = 'sampling_inv_temperature';
/** Bool [1] inputs of graphs with the probabilities output: whether a pass computes each. */
export const WANT_ARGMAX_INPUT = 'want_argmax';
export const WANT_PROBS_INPUT = 'want_probs';
/** float32 copy of float16 logits, added by the load-time graph edit. */
export const LOGITS_FLOAT32 = 'logits_float32';

export function inspectGraph(
  session: ort.InferenceSession,
  config: ModelConfig,
  file: string,
  exported: IoNames = OPTIMUM_NAMES,
): GraphIo {
  const fail = (reason: string): never => {
    throw new ModelLoadError(file, reason);
  };
  const inputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const outputs = new Map(session.outputMetadata.map((m) => [m.name, m]));
  const tensor = (map: typeof inputs, name: string, kind: string) => {
    const meta = map.get(name);
    if (!meta) return fail(`graph has no ${kind} "${name}" (${kind}s: ${[...map.keys()].join(', ')})`);
    if (!meta.isTensor) return fail(`graph ${kind} "${name}" is not a tensor`);
    return meta;
  };
  const indexType = (name: string): IndexType => {
    const type = tensor(inputs, name, 'input').type;
    return type === 'int32'
      ? 'int32'
      : type === 'int64'
        ? 'int64'
        : fail(`input "${name}" has type ${type}, expected int64`);
  };

  const pastNames: string[] = [];
  const presentNames: string[] = [];
  const layer = (pattern: string, i: number) => pattern.replace('%d', String(i));
  for (let i = 0; i < config.numLayers; i++) {
    pastNames.push(layer(exported.pastKey, i), layer(exported.pastValue, i));
    presentNames.push(layer(exported.presentKey, i), layer(exported.presentValue, i));
  }
  const pastMeta = pastNames.map((n) => tensor(inputs, n, 'input'));
  presentNames.forEach((n) => tensor(outputs, n, 'output'));
  const extraLayer = layer(exported.pastKey, config.numLayers);
  if (inputs.has(extraLayer)) fail(`graph has more layers than config.json's ${config.numLayers}`);

  const first = pastMeta[0];
  const kvType = first.type;
  if (kvType !== 'float32' && kvType !== 'float16')
    fail(`past key/values have type ${kvType}, expected float32 or float16`);
  if (first.shape.length !== 4) fail(`past key/values have rank ${first.shape.length}, expected 4`);
  // Fixed dims in the graph win; symbolic ones fall back to config.json.
  const dim = (d: number | string, fallback: number) => (typeof d === 'number' && d > 0 ? d : fallback);
  tensor(outputs, exported.logits, 'output');
  // The graph edit's float32 copy of float16 logits: fetched instead, no conversion in JS.
  const logitsName = outputs.has(LOGITS_FLOAT32) ? LOGITS_FLOAT32 : exported.logits;
  const logits = tensor(outputs, logitsName, 'output');
  if (logits.type !== 'float32' && logits.type !== 'float16') fail(`logits have type ${logits.type}`);

  return {
    names: { ...exported, logits: logitsName },
    inputIdsType: indexType(exported.inputIds),
    maskType: indexType(exported.attentionMask),
    positionIdsType: inputs.has(exported.positionIds) ? indexType(exported.positionIds) : null,
    hasUseCacheBranch: inputs.has('use_cache_branch'),
    pastNames,
    presentNames,
    kvHeads: dim(first.shape[1], config.numKvHeads),
    headDim: dim(first.shape[3], config.headDim),
    kvType: kvType as KvType,
    logitsType: logits.type as KvType,
    logitsVocab: typeof logits.shape[2] === 'number' ? logits.shape[2] : null,
    argmaxName: outputs.has(ARGMAX_OUTPUT) ? ARGMAX_OUTPUT : null,
    probsName: outputs.has(PROBS_OUTPUT) ? PROBS_OUTPUT : null,
  };
}
