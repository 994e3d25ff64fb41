import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../src/database/embedded-postgres.launcher';
import {
  bootstrapKey,
  chat,
  type ChatResult,
  embeddedDbUrl,
  listening,
  npmStartFolder,
  serverEnv,
  startBuiltServer,
  startNpm,
} from '../helpers/cli-server';
import { queryDb as query } from '../helpers/test-database';
import {
  cleanupSpawned,
  isAlive,
  postmasterPid,
  processesInGroup,
  type Spawned,
  tempDir,
  waitGroupGone,
} from '../helpers/spawned-process';

/**
 * A terminal's Ctrl+C signals the whole foreground process group; a supervisor signals the
 * process it started (`npm start`). Either way the server must drain, flush its logs, ledgers and
 * last-used times, then stop its PostgreSQL: every answered request is on the books after a
 * restart, and no process is left.
 */
describe('stopping `npm start`', () => {
  const dataDir = join(tempDir('llm-server-cli-data-', 0o755), 'data');
  const app = npmStartFolder();
  let port: number;
  let key: string;
  const answered: ChatResult[] = [];

  beforeAll(async () => {
    port = await freePort();
  });
  afterAll(cleanupSpawned);

  async function boot(server: Spawned): Promise<number> {
    await server.waitFor('the server to answer /healthz', listening(port), 60_000);
    const pid = postmasterPid(dataDir);
    expect(pid).toBeDefined();
    return pid!;
  }

  /** Four answered one by one, then four in flight when `stop` is called. */
  async function trafficThenStop(stop: () => void): Promise<void> {
    for (let i = 0; i < 4; i++) {
      const r = await chat(port, key, answered.length);
      expect(r.status).toBe(200);
      answered.push(r);
    }
    const inFlight = [0, 1, 2, 3].map((i) => chat(port, key, 1000 + answered.length + i, 24));
    stop();
    answered.push(...(await Promise.all(inFlight)));
  }

  async function expectNothingLeft(server: Spawned, postmaster: number): Promise<void> {
    expect(await waitGroupGone(server.pid)).toEqual([]);
    expect(isAlive(postmaster)).toBe(false);
    expect(existsSync(join(dataDir, 'server.lock'))).toBe(false);
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    // PostgreSQL was stopped by the server (a fast shutdown after the flush), not killed under it.
    expect(server.stderr).not.toMatch(/FATAL|PANIC|terminating connection/);
  }

  /** Every 200 has its inference_logs row and its tokens in /v1/usage; the key's last use is kept. */
  async function expectEverythingOnTheBooks(): Promise<void> {
    const ok = answered.filter((r) => r.status === 200);
    expect(ok.length).toBeGreaterThanOrEqual(4);
    const usage = (await (
      await fetch(`http://127.0.0.1:${port}/v1/usage`, { headers: { 'x-api-key': key } })
    ).json()) as {
      used_tokens: number;
      by_model: { requests: number }[];
    };
    const tokens = ok.reduce((n, r) => n + r.totalTokens, 0);
    expect(usage.used_tokens).toBe(tokens);
    const url = embeddedDbUrl(dataDir);
    const rows = await query<{ n: string }>(
      url,
      'SELECT count(*) AS n FROM inference_logs WHERE request_id = ANY($1) AND status = 200',
      [ok.map((r) => r.requestId)],
    );
    expect(Number(rows[0].n)).toBe(ok.length);
    const logged = await query<{ t: string }>(
      url,
      'SELECT coalesce(sum(prompt_tokens + completion_tokens), 0) AS t FROM inference_logs',
    );
    expect(Number(logged[0].t)).toBe(tokens);
    const keys = await query<{ last_used_at: Date | null }>(url, 'SELECT last_used_at FROM api_keys');
    expect(keys.every((k) => k.last_used_at !== null)).toBe(true);
  }

  it('Ctrl+C (SIGINT to the whole process group) flushes, then stops PostgreSQL; nothing is left running', async () => {
    const server = startNpm('npm start (first)', app, serverEnv(dataDir, port));
    const postmaster = await boot(server);
    await server.waitFor('the admin key in the start banner', (s) => bootstrapKey(s) !== undefined, 10_000);
    key = bootstrapKey(server)!;
    // PostgreSQL runs in a session of its own: the terminal's signal cannot reach it.
    expect(processesInGroup(server.pid)).not.toContain(postmaster);
    await trafficThenStop(() => server.signalGroup('SIGINT'));
    await server.waitExit(45_000);
    await expectNothingLeft(server, postmaster);
  }, 120_000);

  it('after the Ctrl+C, every answered request is on the books; SIGTERM to the npm process stops everything', async () => {
    const server = startNpm('npm start (second)', app, serverEnv(dataDir, port));
    const postmaster = await boot(server);
    // Built already: npm start does not rebuild.
    expect(server.stderr).not.toMatch(/building/);
    await expectEverythingOnTheBooks();
    // A supervisor signals only the process it started.
    await trafficThenStop(() => process.kill(server.pid, 'SIGTERM'));
    const exit = await server.waitExit(45_000);
    expect(exit.code).toBe(0);
    await expectNothingLeft(server, postmaster);
  }, 120_000);

  it('after the SIGTERM, every answered request is on the books', async () => {
    const server = startBuiltServer('server (third)', serverEnv(dataDir, port));
    const postmaster = await boot(server);
    await expectEverythingOnTheBooks();
    process.kill(server.pid, 'SIGTERM');
    expect((await server.waitExit(30_000)).code).toBe(0);
    await expectNothingLeft(server, postmaster);
  }, 120_000);
});
