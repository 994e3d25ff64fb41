import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { projectRoot } from '../common/project-root';

export const BUNDLED_MODEL_DIR = () => join(projectRoot(), 'models', 'tiny');
export const BUNDLED_ENCODER_DIR = () => join(projectRoot(), 'models', 'embed');

/**
 * The bundled default model is generated before the server starts (by `npm start`, the image
 * build, or `npm run model:build`), never by the server itself, which holds no build tooling
 * (docs/architecture.md). A missing folder gets a message that says how to make it.
 */
export function bundledModelHint(path: string): string | undefined {
  const bundled = [BUNDLED_MODEL_DIR(), BUNDLED_ENCODER_DIR()].includes(resolve(path));
  if (!bundled || existsSync(join(path, 'config.json'))) return undefined;
  return `the bundled model is not generated yet: start with \`npm start\` (it generates it) or run \`npm run model:build\``;
}
