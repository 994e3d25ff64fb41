import { accessSync, constants, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { findNginx } from '../../scripts/stack/nginx-local';
import { projectRoot } from '../../src/common/project-root';

/** In CI a missing tool is a failure (CI installs nginx and chromium); on a laptop, a skip. */
export const IN_CI = process.env.CI === 'true';

/**
 * `describe` when the tool is there; otherwise `describe.skip` with a message on a developer
 * machine, and in CI a suite whose only test fails with the install command.
 */
export function describeWithTool(tool: string, found: string | undefined, install: string): jest.Describe {
  if (found) return describe;
  const message = `${tool} is not installed (${install}): these tests need it`;
  if (IN_CI) {
    return ((name: string) =>
      describe(name, () => {
        it(`has ${tool}`, () => {
          throw new Error(`${message}; CI must install it (.ci/run)`);
        });
      })) as unknown as jest.Describe;
  }
  process.stderr.write(`\n  skipping: ${message}\n`);
  return describe.skip;
}

export const nginxBinary = () => findNginx();

/** Debian's Chromium (or CHROMIUM_BIN). */
export function chromiumBinary(): string | undefined {
  for (const candidate of [process.env.CHROMIUM_BIN, '/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* next */
    }
  }
  return undefined;
}

const newest = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
    const p = join(dir, e.name);
    return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }, 0);

/** Builds the playground when ui/dist is missing or older than its sources (a jest run without `npm test`'s pretest). */
export function ensurePlaygroundBuilt(): string {
  const root = projectRoot();
  const dist = join(root, 'ui', 'dist');
  // Parallel jest workers must not build into the same folder at once.
  const lock = join(root, 'ui', '.build-lock');
  for (const started = Date.now(); ;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() - started > 60_000) rmSync(lock, { recursive: true, force: true });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
  try {
    buildIfStale(root, dist);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return dist;
}

function buildIfStale(root: string, dist: string): void {
  const index = join(dist, 'index.html');
  const sources = Math.max(
    newest(join(root, 'ui', 'src')),
    statSync(join(root, 'ui', 'index.html')).mtimeMs,
    statSync(join(root, 'ui', 'admin.html')).mtimeMs,
  );
  if (!existsSync(index) || statSync(index).mtimeMs < sources) {
    const r = spawnSync(
      process.execPath,
      [
        join(root, 'node_modules', 'vite', 'bin', 'vite.js'),
        'build',
        '--config',
        'ui/vite.config.ts',
        '--logLevel',
        'warn',
      ],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    if (r.status !== 0) throw new Error(`building the playground failed:\n${r.stdout}${r.stderr}`);
  }
}
