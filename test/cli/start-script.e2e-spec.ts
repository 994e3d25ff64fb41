import { copyFileSync, existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/cli-server';
import { cleanupSpawned, spawnInOwnSession, tempDir } from '../helpers/spawned-process';

/**
 * `npm start` builds only when a source is newer than the last build, and execs the server (no
 * shell between npm and node, so npm's forwarded signals reach it). A stand-in project: its
 * build counts itself, its "server" prints its parent's pid.
 */
describe('npm start (scripts/start.js)', () => {
  const app = tempDir('llm-server-cli-start-');
  afterAll(cleanupSpawned);

  beforeAll(() => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'stand-in',
        private: true,
        scripts: { build: 'node build.js', start: pkg.scripts.start },
      }),
    );
    mkdirSync(join(app, 'scripts'));
    copyFileSync(join(REPO, 'scripts/start.js'), join(app, 'scripts/start.js'));
    mkdirSync(join(app, 'src'));
    writeFileSync(join(app, 'src/app.ts'), 'export {};\n');
    writeFileSync(
      join(app, 'build.js'),
      [
        "const fs = require('fs');",
        "if (fs.existsSync('FAIL')) process.exit(3);",
        "fs.appendFileSync('builds.txt', 'x');",
        "fs.mkdirSync('dist/src', { recursive: true });",
        "fs.writeFileSync('dist/src/main.js', 'console.log(`served, parent ${process.ppid}`);');",
        // The stand-in's model generator: counts its runs and writes a model folder.
        "fs.mkdirSync('dist/src/model-tools', { recursive: true });",
        "fs.writeFileSync('dist/src/model-tools/default-model.js', " +
          JSON.stringify(
            [
              "const fs = require('fs'); const path = require('path');",
              'exports.ensureDefaultModel = async (dir) => {',
              "  fs.appendFileSync('generated.txt', 'x');",
              "  fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });",
              "  fs.writeFileSync(path.join(dir, 'config.json'), '{}');",
              "  fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), 'onnx');",
              '  return true;',
              '};',
            ].join('\n'),
          ) +
          ');',
        // And its bundled encoder (models/embed), generated in the same child.
        "fs.mkdirSync('dist/src/model-tools/encoder', { recursive: true });",
        "fs.writeFileSync('dist/src/model-tools/encoder/bundled-encoder.js', " +
          JSON.stringify(
            [
              "const fs = require('fs'); const path = require('path');",
              'exports.ensureBundledEncoder = async (dir) => {',
              "  fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });",
              "  fs.writeFileSync(path.join(dir, 'config.json'), '{}');",
              "  fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), 'onnx');",
              '  return true;',
              '};',
            ].join('\n'),
          ) +
          ');',
      ].join('\n'),
    );
  });

  async function npmStart(): Promise<{ code: number | null; out: string; npmPid: number }> {
    const s = spawnInOwnSession('npm start (stand-in)', 'npm', ['start'], {
      cwd: app,
      env: { ...process.env, npm_config_loglevel: 'warn' },
    });
    const { code } = await s.waitExit(30_000);
    return { code, out: s.stdout + s.stderr, npmPid: s.pid };
  }
  const builds = () => readFileSync(join(app, 'builds.txt'), 'utf8').length;
  const generated = () =>
    existsSync(join(app, 'generated.txt')) ? readFileSync(join(app, 'generated.txt'), 'utf8').length : 0;

  it('builds on the first start, then not again until a source changes', async () => {
    const first = await npmStart();
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/building/);
    expect(builds()).toBe(1);
    // exec: the server is npm's own child, not a shell's.
    expect(first.out).toContain(`served, parent ${first.npmPid}`);
    // The bundled model is generated before the server starts, once (the server never does).
    expect(generated()).toBe(1);
    expect(existsSync(join(app, 'models/tiny/onnx/model.onnx'))).toBe(true);
    expect(existsSync(join(app, 'models/embed/onnx/model.onnx'))).toBe(true);

    const second = await npmStart();
    expect(second.out).toContain('served');
    expect(second.out).not.toMatch(/building/);
    expect(builds()).toBe(1);
    expect(generated()).toBe(1);

    const later = new Date(Date.now() + 5_000);
    utimesSync(join(app, 'src/app.ts'), later, later);
    const third = await npmStart();
    expect(third.out).toMatch(/building/);
    expect(builds()).toBe(2);
  }, 60_000);

  it('does not start the server when the build fails, and exits with the build status', async () => {
    const later = new Date(Date.now() + 10_000);
    utimesSync(join(app, 'src/app.ts'), later, later);
    writeFileSync(join(app, 'FAIL'), '');
    const run = await npmStart();
    expect(run.code).toBe(3);
    expect(run.out).toMatch(/build failed/);
    expect(run.out).not.toContain('served');
  }, 60_000);
});
