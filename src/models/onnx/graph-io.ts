import type * as ort from 'onnxruntime-node';
import { ModelLoadError } from './errors';
import type { ModelConfig } from './model-config';

export type KvType = 'float32' | 'float16';
export type IndexType = 'int64' | 'int32';

/** The decoder-with-past interface of one graph, read from the session's metadata. */
export interface GraphIo {
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
}

export const ARGMAX_OUTPUT = 'next_token_argmax';

export function inspectGraph(session: ort.InferenceSession, config: ModelConfig, file: string): GraphIo {
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
    return type === 'int32' ? 'int32' : type === 'int64' ? 'int64' : fail(`input "${name}" has type ${type}, expected int64`);
  };

  const pastNames: string[] = [];
  const presentNames: string[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    for (const part of ['key', 'value']) {
      pastNames.push(`past_key_values.${i}.${part}`);
      presentNames.push(`present.${i}.${part}`);
    }
  }
  const pastMeta = pastNames.map((n) => tensor(inputs, n, 'input'));
  presentNames.forEach((n) => tensor(outputs, n, 'output'));
  const extraLayer = `past_key_values.${config.numLayers}.key`;
  if (inputs.has(extraLayer)) fail(`graph has more layers than config.json's ${config.numLayers}`);

  const first = pastMeta[0];
  const kvType = first.type;
  if (kvType !== 'float32' && kvType !== 'float16') fail(`past key/values have type ${kvType}, expected float32 or float16`);
  if (first.shape.length !== 4) fail(`past key/values have rank ${first.shape.length}, expected 4`);
  // Fixed dims in the graph win; symbolic ones fall back to config.json.
  const dim = (d: number | string, fallback: number) => (typeof d === 'number' && d > 0 ? d : fallback);
  const logits = tensor(outputs, 'logits', 'output');
  if (logits.type !== 'float32' && logits.type !== 'float16') fail(`logits have type ${logits.type}`);

  return {
    inputIdsType: indexType('input_ids'),
    maskType: indexType('attention_mask'),
    positionIdsType: inputs.has('position_ids') ? indexType('position_ids') : null,
    hasUseCacheBranch: inputs.has('use_cache_branch'),
    pastNames,
    presentNames,
    kvHeads: dim(first.shape[1], config.numKvHeads),
    headDim: dim(first.shape[3], config.headDim),
    kvType: kvType as KvType,
    logitsType: logits.type as KvType,
    logitsVocab: typeof logits.shape[2] === 'number' ? logits.shape[2] : null,
    argmaxName: outputs.has(ARGMAX_OUTPUT) ? ARGMAX_OUTPUT : null,
  };
}
