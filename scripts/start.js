#!/usr/bin/env node
// `npm start`: builds only when a source is newer than the last build, then runs the server in
// this same process. npm's `start` script execs this file, so a supervisor's SIGTERM (or a
// terminal's Ctrl+C) reaches the server itself, which drains, flushes and stops the embedded
// database. Plain JavaScript: it must run before anything is compiled. See docs/embedded-database.md.
'use strict';
const { spawn } = require('node:child_process');
const { existsSync, readdirSync, statSync, utimesSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const main = join(root, 'dist', 'src', 'main.js');
const stamp = join(root, 'dist', '.start-build-stamp');
// What `npm run build` reads; ui/dist and dist are its output.
const inputs = ['src', 'migrations', 'scripts', 'ui', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];
const skip = new Set(['node_modules', 'dist']);

function newestMtime(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  // Files only: the build itself creates folders (ui/dist) inside the inputs.
  let newest = 0;
  for (const entry of readdirSync(path)) {
    if (!skip.has(entry)) newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

function needsBuild() {
  if (!existsSync(main) || !existsSync(stamp)) return true;
  const built = statSync(stamp).mtimeMs;
  return inputs.some((p) => newestMtime(join(root, p)) > built);
}

function build() {
  const why = existsSync(stamp) ? 'sources changed since the last build' : 'first start';
  process.stderr.write(`llm-server: ${why}; building (npm run build)\n`);
  // The same npm that runs us, when known; the build command itself lives in package.json.
  const npm = process.env.npm_execpath;
  const [cmd, args] = npm ? [process.execPath, [npm, 'run', 'build']] : ['npm', ['run', 'build']];
  const startedAt = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: 'inherit' });
    const forward = (signal) => child.kill(signal);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, forward);
    child.on('error', (err) => {
      process.stderr.write(`llm-server: cannot run the build: ${err.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.removeListener(s, forward);
      if (code === 0) {
        // The build's start time: a source edited during the build still counts as newer.
        writeFileSync(stamp, `${new Date(startedAt).toISOString()}\n`);
        utimesSync(stamp, startedAt / 1000, startedAt / 1000);
      }
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

/**
 * The bundled default model (models/tiny) and encoder (models/embed) are generated here on the
 * first start, never by the server (which holds no build tooling). A cheap look first; the
 * generator itself runs in a child process, so the server process does not keep its modules loaded.
 */
function complete(dir) {
  const onnx = join(dir, 'onnx', 'model.onnx');
  return existsSync(join(dir, 'config.json')) && existsSync(onnx) && statSync(onnx).size > 0;
}

function ensureBundledModel() {
  const dir = join(root, 'models', 'tiny');
  const encoderDir = join(root, 'models', 'embed');
  if (complete(dir) && complete(encoderDir)) return Promise.resolve(0);
  const tool = join(root, 'dist', 'src', 'model-tools', 'default-model.js');
  const encoderTool = join(root, 'dist', 'src', 'model-tools', 'encoder', 'bundled-encoder.js');
  const script =
    `require(${JSON.stringify(tool)}).ensureDefaultModel(${JSON.stringify(dir)})` +
    `.then((made) => made && process.stderr.write('llm-server: generated the bundled model in ' + ${JSON.stringify(dir)} + '\\n'))` +
    `.then(() => require(${JSON.stringify(encoderTool)}).ensureBundledEncoder(${JSON.stringify(encoderDir)}))` +
    `.then((made) => made && process.stderr.write('llm-server: generated the bundled encoder in ' + ${JSON.stringify(encoderDir)} + '\\n'))` +
    `.catch((err) => { process.stderr.write('llm-server: cannot generate the bundled model: ' + err.message + '\\n'); process.exit(1); })`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { cwd: root, stdio: 'inherit' });
    const forward = (signal) => child.kill(signal);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, forward);
    child.on('exit', (code, signal) => {
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.removeListener(s, forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

async function run() {
  if (needsBuild()) {
    const code = await build();
    if (code !== 0) {
      process.stderr.write(`llm-server: build failed (exit code ${code})\n`);
      process.exit(code);
    }
  }
  const model = await ensureBundledModel();
  if (model !== 0) process.exit(model);
  require(main);
}

run();
