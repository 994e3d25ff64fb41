import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel } from '../../src/model-tools/build-model';

const built = new Map<string, Promise<string>>();

/** A small local model (byte vocabulary), built once per test process into a temp folder. */
export function tinyModelDir(arch: 'llama' | 'gpt2' = 'llama'): Promise<string> {
  let p = built.get(arch);
  if (!p) {
    const dir = join(tmpdir(), `llm-server-test-model-${arch}-${process.pid}`);
    p = buildModel({ outDir: dir, arch, vocab: 'byte', layers: 2, hidden: 64, heads: 4, kvHeads: arch === 'llama' ? 2 : 4, seed: 7, maxPositions: 512 }).then(() => dir);
    built.set(arch, p);
  }
  return p;
}

/** Writes a models.yaml into a fresh temp folder and returns its path. */
export function writeModelsYaml(yaml: string): string {
  const dir = join(tmpdir(), `llm-server-models-${process.pid}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'models.yaml');
  writeFileSync(file, yaml);
  return file;
}
