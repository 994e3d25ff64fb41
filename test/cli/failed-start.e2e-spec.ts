import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../src/database/embedded-postgres.launcher';
import { serverEnv, startBuiltServer } from '../helpers/cli-server';
import { cleanupSpawned, type Spawned, tempDir, waitGroupGone } from '../helpers/spawned-process';

/** Live processes whose command line names `path` (a postgres started on that data folder). */
function processesNaming(path: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(path)) found.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** Run as root, PostgreSQL runs as `postgres`: a cluster folder made by hand must be theirs. */
function makeClusterFolder(pgDir: string, files: Record<string, string>): void {
  mkdirSync(pgDir, { recursive: true, mode: 0o700 });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(pgDir, name), text);
  if (process.getuid?.() !== 0) return;
  const [uid, gid] = ['-u', '-g'].map((f) => Number(execFileSync('id', [f, 'postgres'], { encoding: 'utf8' })));
  for (const p of [pgDir, ...Object.keys(files).map((n) => join(pgDir, n))]) chownSync(p, uid, gid);
}

/**
 * A start that fails leaves nothing behind: no lock, no password file, no process (the server's
 * PostgreSQL runs in a session of its own, so nothing else would stop it), no half-made cluster.
 */
describe('a failed start', () => {
  afterAll(cleanupSpawned);

  async function expectNothingLeft(server: Spawned, dataDir: string, tmp: string): Promise<void> {
    const exit = await server.waitExit(45_000);
    expect(exit.code).toBe(1);
    expect(server.stderr).toMatch(/llm-server failed to start: \S/);
    expect(await waitGroupGone(server.pid)).toEqual([]);
    expect(processesNaming(dataDir)).toEqual([]);
    expect(existsSync(join(dataDir, 'server.lock'))).toBe(false);
    expect(readdirSync(tmp).filter((e) => /pass|pw|initdb|pg/i.test(e))).toEqual([]);
  }

  it('after PostgreSQL started (the HTTP port is taken) stops that PostgreSQL and removes the lock', async () => {
    const dataDir = join(tempDir('llm-server-cli-fail-', 0o755), 'data');
    const busy: Server = createServer();
    const port = await freePort();
    await new Promise<void>((r) => busy.listen(port, '127.0.0.1', r));
    try {
      const env = serverEnv(dataDir, port);
      const server = startBuiltServer('server on a taken port', env);
      await expectNothingLeft(server, dataDir, env.TMPDIR!);
      expect(server.stderr).toMatch(/EADDRINUSE/);
      // The cluster it initialised is kept: the next start reuses it.
      expect(existsSync(join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
    } finally {
      await new Promise((r) => busy.close(r));
    }
  }, 90_000);

  it('on a corrupt data folder says why, and keeps the folder as it was', async () => {
    const dataDir = join(tempDir('llm-server-cli-fail-', 0o755), 'data');
    const pgDir = join(dataDir, 'postgres');
    makeClusterFolder(pgDir, { PG_VERSION: '9\n' });
    const env = serverEnv(dataDir, await freePort());
    const server = startBuiltServer('server on a corrupt cluster', env);
    await expectNothingLeft(server, dataDir, env.TMPDIR!);
    expect(server.stderr).toMatch(/embedded PostgreSQL in .* failed to start/);
    expect(readFileSync(join(pgDir, 'PG_VERSION'), 'utf8')).toBe('9\n');
  }, 90_000);

  it('when initdb fails, keeps what was in the folder and removes the password it generated', async () => {
    const dataDir = join(tempDir('llm-server-cli-fail-', 0o755), 'data');
    const pgDir = join(dataDir, 'postgres');
    makeClusterFolder(pgDir, { 'notes.txt': 'not a cluster\n' });
    const env = serverEnv(dataDir, await freePort());
    const server = startBuiltServer('server on a non-empty folder', env);
    await expectNothingLeft(server, dataDir, env.TMPDIR!);
    expect(server.stderr).toMatch(/initdb failed/);
    expect(readFileSync(join(pgDir, 'notes.txt'), 'utf8')).toBe('not a cluster\n');
    expect(existsSync(join(dataDir, 'postgres.credentials.json'))).toBe(false);
    expect(readdirSync(dataDir).filter((e) => e.startsWith('.initdb-'))).toEqual([]);
  }, 90_000);
});
