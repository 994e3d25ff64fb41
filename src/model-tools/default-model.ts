import { existsSync, statSync } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buildModel } from './build-model';
import type { BuildModelOptions } from './spec';

export type ModelPreset = Omit<BuildModelOptions, 'outDir'>;

/**
 * The model bundled with the server (built at first start, or at image build time): LLaMA-shaped
 * with the real GPT-2 vocabulary so any text tokenizes sensibly, ChatML chat template, tied
 * embeddings (as Llama 3.2 does) to keep the file ~27 MB. Builds in about a second.
 */
export const DEFAULT_MODEL_SPEC: Readonly<ModelPreset> = Object.freeze({
  arch: 'llama',
  vocab: 'gpt2',
  chatTemplate: 'chatml',
  layers: 4,
  hidden: 128,
  heads: 4,
  kvHeads: 2,
  tieEmbeddings: true,
  maxPositions: 2048,
  seed: 1234,
});

/**
 * The benchmark model: GPT-2-shaped, 4 layers, hidden 256, exactly the 50,257-token GPT-2
 * vocabulary (so the `plain` chat template, which adds no tokens).
 */
export const BENCH_MODEL_SPEC: Readonly<ModelPreset> = Object.freeze({
  arch: 'gpt2',
  vocab: 'gpt2',
  chatTemplate: 'plain',
  layers: 4,
  hidden: 256,
  heads: 4,
  maxPositions: 1024,
  seed: 1234,
});

/**
 * A model large enough to be memory-bound, for comparing fp32 with 4-bit (bench:engine --models
 * large): llama-shaped, GPT-2 vocabulary, tied embeddings, 114M parameters, 457 MB in fp32.
 */
export const LARGE_MODEL_SPEC: Readonly<ModelPreset> = Object.freeze({
  arch: 'llama',
  vocab: 'gpt2',
  chatTemplate: 'chatml',
  layers: 12,
  hidden: 768,
  heads: 12,
  kvHeads: 4,
  intermediate: 2048,
  tieEmbeddings: true,
  maxPositions: 1024,
  seed: 1234,
});

const REQUIRED = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];

/** True when the folder holds a loadable model: the JSON files parse and an ONNX file is non-empty. */
export async function isCompleteModelDir(dir: string): Promise<boolean> {
  try {
    for (const f of REQUIRED) JSON.parse(await readFile(join(dir, f), 'utf8'));
  } catch {
    return false;
  }
  return ['onnx/model.onnx', 'onnx/decoder_model_merged.onnx'].some((f) => {
    const p = join(dir, f);
    return existsSync(p) && statSync(p).size > 0;
  });
}

/**
 * Builds the default model into `dir` unless a complete model is already there (never overwrites
 * one, whatever it is). A missing folder is built beside it and renamed in, so concurrent starts
 * sharing a volume never see half a folder. Returns true when this call built it.
 */
export async function ensureDefaultModel(dir: string, spec: ModelPreset = DEFAULT_MODEL_SPEC): Promise<boolean> {
  if (await isCompleteModelDir(dir)) return false;
  if (existsSync(dir)) {
    // Incomplete folder (interrupted build, partial copy): complete it in place.
    await buildModel({ ...spec, outDir: dir });
    return true;
  }
  const tmp = join(dirname(dir), `.${Date.now()}-${process.pid}.building`);
  try {
    await buildModel({ ...spec, outDir: tmp });
    await rename(tmp, dir);
    return true;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    // Another process won the race: its folder is as good as ours.
    if (await isCompleteModelDir(dir)) return false;
    throw err;
  }
}
