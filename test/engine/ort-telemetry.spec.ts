import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/common/project-root';
import { modelRoot } from './engine-fixtures';

const models = modelRoot('telemetry');
const ROOT = projectRoot();

/**
 * Opens a session the way the server does, in a process of its own whose environment does not
 * set ORT_DISABLE_TELEMETRY (jest's own environment does, see jest.config.js), and returns its pid.
 */
function openSessionInChild(modelFile: string): Promise<number> {
  const env = { ...process.env };
  delete env.ORT_DISABLE_TELEMETRY;
  const script = `require(${JSON.stringify(join(ROOT, 'src/models/onnx/session.ts'))})
    .createSession(process.argv[1], process.argv[1], { device: 'cpu' })
    .then(() => process.stdout.write(String(process.pid)));`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-r', join(ROOT, 'scripts/swc-register.js'), '-e', script, modelFile],
      { cwd: ROOT, env, timeout: 30_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(Number(stdout))),
    );
  });
}

describe('onnxruntime telemetry', () => {
  it('does stay off when the server opens a session: no /tmp/mat-debug-<pid>.log is left behind', async () => {
    const dir = await models.build('m', { arch: 'llama', kvHeads: 2 });
    const pid = await openSessionInChild(join(dir, 'onnx', 'model.onnx'));
    expect(pid).toBeGreaterThan(0);
    // The native library writes there whatever TMPDIR says.
    const trace = `/tmp/mat-debug-${pid}.log`;
    const left = existsSync(trace);
    rmSync(trace, { force: true });
    expect(left).toBe(false);
  });
});
