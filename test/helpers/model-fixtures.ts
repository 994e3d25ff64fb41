import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildModel } from '../../src/model-tools/build-model';
import { makeTempDir } from './temp-dir';

const built = new Map<string, Promise<string>>();

/** A small local model (byte vocabulary), built once per test file into a temp folder removed after it. */
export function tinyModelDir(arch: 'llama' | 'gpt2' = 'llama'): Promise<string> {
  let p = built.get(arch);
  if (!p) {
    const dir = makeTempDir(`test-model-${arch}`);
    p = buildModel({
      outDir: dir,
      arch,
      vocab: 'byte',
      layers: 2,
      hidden: 64,
      heads: 4,
      kvHeads: arch === 'llama' ? 2 : 4,
      seed: 7,
      maxPositions: 512,
    }).then(() => dir);
    built.set(arch, p);
  }
  return p;
}

/** Writes a models.yaml into a fresh temp folder (removed after the test file) and returns its path. */
export function writeModelsYaml(yaml: string): string {
  const file = join(makeTempDir('models'), 'models.yaml');
  writeFileSync(file, yaml);
  return file;
}
