import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Tokenizer } from '@huggingface/tokenizers';
import { buildCompactly } from '../compact-tokenizer';
import { ModelLoadError } from '../onnx/errors';
import { VARIANT_SUFFIXES } from '../onnx/model-folder';

export type Pooling = 'mean' | 'cls' | 'last';

/** What an encoder folder holds, read once at load (docs/embeddings.md). */
export interface EncoderFolder {
  dir: string;
  onnxFile: string;
  tokenizer: Tokenizer;
  /** Pooling from 1_Pooling/config.json, when the folder has one. */
  pooling?: Pooling;
  /** Longest input in tokens, special tokens included. */
  contextLength: number;
  vocabSize?: number;
  /** 12 hex chars over the files' sizes and mtimes: changes whenever the model does. */
  version: string;
}

function readJson(file: string): Record<string, unknown> {
  if (!existsSync(file)) throw new ModelLoadError(file, 'not found');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ModelLoadError(file, `invalid JSON: ${(err as Error).message}`);
  }
}

/** sentence-transformers' 1_Pooling/config.json → our pooling names (max and sqrt-len are not served). */
export function poolingFromConfig(cfg: Record<string, unknown>, file: string): Pooling {
  if (cfg.pooling_mode_mean_tokens) return 'mean';
  if (cfg.pooling_mode_cls_token) return 'cls';
  if (cfg.pooling_mode_lasttoken) return 'last';
  throw new ModelLoadError(file, 'only mean, cls and lasttoken pooling are supported');
}

export function loadEncoderFolder(dir: string, variant = 'fp32', file?: string): EncoderFolder {
  if (!existsSync(dir)) throw new ModelLoadError(dir, 'folder not found');
  const suffix = VARIANT_SUFFIXES[variant];
  if (suffix === undefined) {
    throw new ModelLoadError(dir, `unknown dtype "${variant}" (known: ${Object.keys(VARIANT_SUFFIXES).join(', ')})`);
  }
  const onnxFile = file ? join(dir, file) : join(dir, 'onnx', `model${suffix}.onnx`);
  if (!existsSync(onnxFile)) throw new ModelLoadError(onnxFile, 'not found');
  const configFile = join(dir, 'config.json');
  const config = readJson(configFile);
  const tokenizerFile = join(dir, 'tokenizer.json');
  const tokenizerConfigFile = join(dir, 'tokenizer_config.json');
  const tokenizerConfig = existsSync(tokenizerConfigFile) ? readJson(tokenizerConfigFile) : {};
  let tokenizer: Tokenizer;
  try {
    tokenizer = buildCompactly(readJson(tokenizerFile), tokenizerConfig);
  } catch (err) {
    if (err instanceof ModelLoadError) throw err;
    throw new ModelLoadError(tokenizerFile, `cannot be read: ${(err as Error).message}`);
  }
  const poolingFile = join(dir, '1_Pooling', 'config.json');
  const pooling = existsSync(poolingFile) ? poolingFromConfig(readJson(poolingFile), poolingFile) : undefined;
  const hash = createHash('sha256');
  for (const f of [onnxFile, configFile, tokenizerFile, tokenizerConfigFile, poolingFile]) {
    if (existsSync(f)) {
      const st = statSync(f);
      hash.update(`${f}:${st.size}:${st.mtimeMs}\n`);
    }
  }
  return {
    dir,
    onnxFile,
    tokenizer,
    pooling,
    contextLength: contextLengthOf(config, tokenizerConfig),
    vocabSize: typeof config.vocab_size === 'number' ? config.vocab_size : undefined,
    version: hash.digest('hex').slice(0, 12),
  };
}

/**
 * tokenizer_config's model_max_length when it is a real number (HF writes 1e30 for "unset"),
 * else max_position_embeddings (minus RoBERTa's two offset positions for that family).
 */
function contextLengthOf(config: Record<string, unknown>, tokenizerConfig: Record<string, unknown>): number {
  const positions = typeof config.max_position_embeddings === 'number' ? config.max_position_embeddings : 512;
  const offset =
    ['roberta', 'xlm-roberta', 'camembert'].includes(String(config.model_type)) && positions === 514 ? 2 : 0;
  const max = tokenizerConfig.model_max_length;
  const fromTokenizer = typeof max === 'number' && max > 0 && max < 1e9 ? max : Infinity;
  return Math.min(fromTokenizer, positions - offset);
}
