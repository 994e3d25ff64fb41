import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ensureDefaultModel } from '../model-tools/default-model';

/** The folder of this package (where package.json says `llm-server`). */
export function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'llm-server') return dir;
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

export const BUNDLED_MODEL_DIR = () => join(projectRoot(), 'models', 'tiny');

/**
 * `npm start` on a fresh machine serves a real local model with no download: when a model
 * points at the bundled default folder and it is missing (or half-written), generate it.
 */
export async function ensureBundledModel(path: string, log: (line: string) => void): Promise<void> {
  if (resolve(path) !== BUNDLED_MODEL_DIR()) return;
  const started = Date.now();
  if (await ensureDefaultModel(path)) log(`generated the bundled default model in ${path} (${Date.now() - started} ms)`);
}
