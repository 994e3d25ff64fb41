import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../src/database/embedded-postgres.launcher';
import { bootstrapKey, listening, MAIN, serverEnv, startBuiltServer } from '../helpers/cli-server';
import { cleanupSpawned, tempDir } from '../helpers/spawned-process';

describe('npm start on the embedded defaults', () => {
  const dataDir = join(tempDir('llm-server-start-', 0o755), 'data');
  afterAll(cleanupSpawned);

  it('boots on an empty DATA_DIR, prints the bootstrap key once, refuses a second server, and reuses its data', async () => {
    expect(existsSync(MAIN)).toBe(true);
    const port = await freePort();
    const first = startBuiltServer('first start', serverEnv(dataDir, port));
    await first.waitFor('the server to answer /healthz', listening(port), 60_000);
    await first.waitFor('the admin key in the start banner', (s) => /Admin key +sk-/.test(s.stderr), 10_000);
    const key = bootstrapKey(first)!;
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    const keys = await fetch(`http://127.0.0.1:${port}/admin/keys`, { headers: { 'x-api-key': key } });
    expect(keys.status).toBe(200);
    // The bundled default model answers.
    const gen = await fetch(`http://127.0.0.1:${port}/v1/generate`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'Hello', max_tokens: 5, temperature: 0 }),
    });
    expect(gen.status).toBe(200);
    const body = (await gen.json()) as { model: string; usage: { completion_tokens: number } };
    expect(body.model).toBe('tiny');
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
    // The key is shown once to the operator, in the banner, and never in a log line.
    expect(first.stdout).not.toContain(key);

    const second = startBuiltServer('second server on the same DATA_DIR', serverEnv(dataDir, await freePort()));
    expect((await second.waitExit(30_000)).code).toBe(1);
    expect(second.stderr).toMatch(/already using DATA_DIR/);
    // ... and the first one is unharmed.
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

    process.kill(first.pid, 'SIGTERM');
    expect((await first.waitExit(30_000)).code).toBe(0);
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    expect(existsSync(join(dataDir, 'server.lock'))).toBe(false);

    const again = startBuiltServer('restart', serverEnv(dataDir, port));
    await again.waitFor('the server to answer /healthz after a restart', listening(port), 60_000);
    const reuse = await fetch(`http://127.0.0.1:${port}/admin/keys`, { headers: { 'x-api-key': key } });
    expect(reuse.status).toBe(200);
    process.kill(again.pid, 'SIGTERM');
    expect((await again.waitExit(30_000)).code).toBe(0);
    expect(again.stdout + again.stderr).not.toMatch(/sk-[A-Za-z0-9_-]{40,}/);
  }, 110_000);
});
