import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../src/database/embedded-postgres.launcher';
import { projectRoot } from '../../src/common/project-root';
import { makeTempDir } from '../helpers/temp-dir';
import { call, startTestApp, type TestApp } from '../helpers/test-app';

const ROOT = projectRoot();

/** Runs `make key` (or the script) as a user would, with a clean environment of our choosing. */
function run(
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, env: { ...base, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/**
 * `make key` against `npm start` (an app on 127.0.0.1:PORT, the stack's nginx port closed), with
 * the admin key from ADMIN_KEY or from an env file, and the messages when it cannot work.
 */
describe('make key', () => {
  let t: TestApp;
  let port: string;
  let closedPort: string;
  let noEnvFile: string;
  beforeAll(async () => {
    t = await startTestApp();
    port = new URL(t.baseUrl).port;
    closedPort = String(await freePort());
    noEnvFile = join(makeTempDir('create-key'), 'absent.env');
  });
  afterAll(async () => {
    await t.close();
  });

  it('does create a key on the npm start server with ADMIN_KEY given to make', async () => {
    const r = await run('make', ['-s', 'key', 'LABEL=make-key-test', 'RPM=7', `ADMIN_KEY=${t.adminKey}`], {
      PORT: port,
      NGINX_PORT: closedPort,
      ENV_FILE: noEnvFile,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const created = JSON.parse(r.stdout);
    expect(created).toMatchObject({ label: 'make-key-test', role: 'user', rpm: 7 });
    const models = await call(t.baseUrl, 'GET', '/v1/models', { key: created.key });
    expect(models.status).toBe(200);
  });

  it('does read the port and BOOTSTRAP_API_KEY from the env file', async () => {
    const envFile = join(makeTempDir('create-key'), '.env');
    writeFileSync(envFile, `PORT=${port}\nBOOTSTRAP_API_KEY="${t.adminKey}"\n`, { mode: 0o600 });
    const r = await run('bash', ['scripts/stack/create-key.sh'], {
      LABEL: 'from-env-file',
      NGINX_PORT: closedPort,
      ENV_FILE: envFile,
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ label: 'from-env-file' });
  });

  it('does say how to pass the admin key when none is known', async () => {
    const r = await run('make', ['-s', 'key'], { PORT: port, NGINX_PORT: closedPort, ENV_FILE: noEnvFile });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('no admin key known');
    expect(r.stderr).toContain('make key ADMIN_KEY=sk-...');
  });

  it('does name both places it looked when no server answers', async () => {
    const r = await run('bash', ['scripts/stack/create-key.sh'], {
      ADMIN_KEY: t.adminKey,
      PORT: closedPort,
      NGINX_PORT: closedPort,
      ENV_FILE: noEnvFile,
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`http://127.0.0.1:${closedPort} (npm start)`);
    expect(r.stderr).toContain(`http://localhost:${closedPort} (make up)`);
  });
});
