import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/database/embedded-postgres.launcher';

const MAIN = join(__dirname, '../../dist/src/main.js');

interface Started {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Runs the built server as `npm start` does, with no DATABASE_URL: the embedded defaults. */
function startServer(dataDir: string, port: number): Started {
  // The repository's own models.yaml: the bundled default model (generated at first start if missing).
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' };
  delete env.MODELS_CONFIG;
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  delete env.BOOTSTRAP_API_KEY;
  const proc = spawn(process.execPath, [MAIN], { env, cwd: join(__dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  children.push(proc);
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { proc, stdout: () => out, stderr: () => err, exited };
}

async function waitFor(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const children: ChildProcess[] = [];

describe('npm start on the embedded defaults', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'llm-server-start-'));
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('boots on an empty DATA_DIR, prints the bootstrap key once, refuses a second server, and reuses its data', async () => {
    expect(existsSync(MAIN)).toBe(true);
    const port = await freePort();
    const first = startServer(dataDir, port);
    await waitFor(() => first.stderr().includes('llm-server listening on') && /sk-/.test(first.stderr()), 60_000, `first start: ${first.stderr()}`);
    const key = /Admin key +(sk-[A-Za-z0-9_-]{40,})/.exec(first.stderr())?.[1];
    expect(key).toBeDefined();
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    const keys = await fetch(`http://127.0.0.1:${port}/admin/keys`, { headers: { 'x-api-key': key! } });
    expect(keys.status).toBe(200);
    // The bundled default model answers.
    const gen = await fetch(`http://127.0.0.1:${port}/v1/generate`, {
      method: 'POST',
      headers: { 'x-api-key': key!, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'Hello', max_tokens: 5, temperature: 0 }),
    });
    expect(gen.status).toBe(200);
    const body = await gen.json();
    expect(body.model).toBe('tiny');
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
    // The key is printed once to the operator and never in a log line.
    expect(first.stderr()).not.toContain(key!);

    const second = startServer(dataDir, await freePort());
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toMatch(/already using DATA_DIR/);
    // ... and the first one is unharmed.
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

    first.proc.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    expect(existsSync(join(dataDir, 'server.lock'))).toBe(false);

    const again = startServer(dataDir, port);
    await waitFor(() => again.stderr().includes('llm-server listening on'), 60_000, `restart: ${again.stderr()}`);
    expect(again.stdout() + again.stderr()).not.toMatch(/sk-[A-Za-z0-9_-]{40,}/);
    const reuse = await fetch(`http://127.0.0.1:${port}/admin/keys`, { headers: { 'x-api-key': key! } });
    expect(reuse.status).toBe(200);
    again.proc.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });
});
