import { existsSync, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buildEncoder, type EncoderOptions } from './build-encoder';

export type EncoderPreset = Omit<EncoderOptions, 'outDir'>;

/**
 * The encoder bundled next to the default decoder (models/embed): BERT-shaped with a WordPiece
 * vocabulary, 4 layers, hidden 128, mean pooling, 512 positions; about 3 MB, built in well under a
 * second. Random weights: it serves the API shape (vectors, batching, limits), not semantics.
 */
export const BUNDLED_ENCODER_SPEC: Readonly<EncoderPreset> = Object.freeze({
  arch: 'bert',
  layers: 4,
  hidden: 128,
  heads: 4,
  maxPositions: 512,
  pooling: 'mean',
  seed: 1234,
});

/** True when the folder holds a complete encoder (model.onnx is written last). */
export function isCompleteEncoderDir(dir: string): boolean {
  const onnx = join(dir, 'onnx', 'model.onnx');
  return existsSync(join(dir, 'config.json')) && existsSync(onnx) && statSync(onnx).size > 0;
}

/**
 * Builds the bundled encoder into `dir` unless one is there; built beside it and renamed in, so
 * concurrent starts never see half a folder. Returns true when this call built it.
 */
export async function ensureBundledEncoder(dir: string, spec: EncoderPreset = BUNDLED_ENCODER_SPEC): Promise<boolean> {
  if (isCompleteEncoderDir(dir)) return false;
  if (existsSync(dir)) {
    await buildEncoder({ ...spec, outDir: dir });
    return true;
  }
  const tmp = join(dirname(dir), `.${Date.now()}-${process.pid}.encoder.building`);
  try {
    await buildEncoder({ ...spec, outDir: tmp });
    await rename(tmp, dir);
    return true;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if (isCompleteEncoderDir(dir)) return false;
    throw err;
  }
}
