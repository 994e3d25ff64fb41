import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { type Placement, placeCluster } from './embedded-postgres.placement';
import { PostgresProcess, runInitdb } from './embedded-postgres.process';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  /** Preferred port; 0 picks a free one. Never 5432 by default, so a system server never clashes. */
  port: number;
  /** Run as root only: where binaries and clusters the postgres user cannot reach are kept. */
  sharedDir?: string;
  log?: (line: string) => void;
}

export interface RunningEmbeddedPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export const DEFAULT_SHARED_DIR = '/var/lib/llm-server';

/**
 * Starts PostgreSQL from the `embedded-postgres` binaries under `<dataDir>/postgres`, in its own
 * session so a terminal's Ctrl+C reaches only the server, which flushes and then stops it. A lock
 * file makes a second server on the same data folder fail with a clear message; a failed start
 * leaves no lock, no password file and no process. See docs/embedded-database.md.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningEmbeddedPostgres> {
  const log = opts.log ?? (() => undefined);
  const dataDir = resolve(opts.dataDir);
  await fs.mkdir(dataDir, { recursive: true });
  const releaseLock = await acquireLock(join(dataDir, 'server.lock'));
  const link = join(dataDir, 'postgres');
  const credentialsFile = join(dataDir, 'postgres.credentials.json');
  const hadCluster = await fs.lstat(link).then(
    () => true,
    () => false,
  );
  const hadCredentials = existsSync(credentialsFile);
  let place: Placement | undefined;
  let initialised = false;
  let pg: PostgresProcess | undefined;
  try {
    place = await placeCluster(dataDir, opts.sharedDir ?? DEFAULT_SHARED_DIR, log);
    initialised = existsSync(join(place.pgDir, 'PG_VERSION'));
    await stopOrphanPostmaster(place.pgDir, log);
    const credentials = await loadCredentials(credentialsFile);
    if (!initialised) {
      log(`initialising embedded PostgreSQL in ${place.pgDir}`);
      await initialise(place, credentials.password, log);
    }
    const port = await choosePort(opts.port, log);
    pg = await PostgresProcess.start(place.bin, place.pgDir, port, place.runAs, log);
    const running = pg;
    const url = `postgres://postgres:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/postgres`;
    let stopping: Promise<void> | undefined;
    return {
      url,
      port,
      stop: () =>
        (stopping ??= (async () => {
          await running.stop();
          await releaseLock();
        })()),
    };
  } catch (err) {
    await pg?.stop();
    // Leave nothing this start made: a cluster folder it created (never one that was there), a
    // password for a cluster that does not exist.
    if (!hadCluster && !initialised) {
      if (place) await fs.rm(place.pgDir, { recursive: true, force: true });
      await fs.rm(link, { recursive: true, force: true });
    }
    if (!hadCredentials && !initialised) await fs.rm(credentialsFile, { force: true });
    await releaseLock();
    throw err;
  }
}

/**
 * initdb reads the superuser password from a file: 0600 in a private 0700 folder beside the
 * cluster (the postgres user can reach it there; a shared temp folder may not be), removed
 * afterwards. A folder left by a killed start is removed first.
 */
async function initialise(place: Placement, password: string, log: (l: string) => void): Promise<void> {
  const parent = dirname(place.pgDir);
  for (const entry of await fs.readdir(parent)) {
    const owner = /^\.initdb-(\d+)-/.exec(entry);
    if (owner && !isAlive(Number(owner[1]))) await fs.rm(join(parent, entry), { recursive: true, force: true });
  }
  const dir = await fs.mkdtemp(join(parent, `.initdb-${process.pid}-`));
  try {
    const pwFile = join(dir, 'pw');
    await fs.writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    if (place.runAs.uid !== undefined) {
      await fs.chown(dir, place.runAs.uid, place.runAs.gid);
      await fs.chown(pwFile, place.runAs.uid, place.runAs.gid);
    }
    await runInitdb(place.bin, place.pgDir, pwFile, place.runAs, log);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function acquireLock(path: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await fs.open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      // Whatever way this process ends (a crash, process.exit after a failed start), no stale lock.
      const onExit = () => rmSync(path, { force: true });
      process.on('exit', onExit);
      return async () => {
        process.removeListener('exit', onExit);
        await fs.rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await fs.readFile(path, 'utf8').catch(() => '')).trim());
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new Error(
          `another LLM server (pid ${pid}) is already using DATA_DIR ${resolve(path, '..')}; ` +
            'stop it first or start this one with another DATA_DIR',
          { cause: err },
        );
      }
      await fs.rm(path, { force: true }); // stale lock from a crashed server
    }
  }
  throw new Error(`could not take the lock ${path}`);
}

/** A server killed with SIGKILL leaves its postmaster running: stop it before starting ours. */
async function stopOrphanPostmaster(pgDir: string, log: (l: string) => void): Promise<void> {
  const pidFile = join(pgDir, 'postmaster.pid');
  const pid = Number((await fs.readFile(pidFile, 'utf8').catch(() => '')).split('\n')[0]);
  if (!pid || !isAlive(pid)) return;
  // After a reboot the pid may belong to something else: only a postgres is ours to stop.
  const cmd = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  if (cmd !== undefined && !cmd.includes('postgres')) return;
  log(`stopping orphaned embedded PostgreSQL (pid ${pid}) left by a previous run`);
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) throw new Error(`orphaned PostgreSQL (pid ${pid}) in ${pgDir} did not stop`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function loadCredentials(path: string): Promise<{ password: string }> {
  try {
    return JSON.parse(await fs.readFile(path, 'utf8'));
  } catch {
    const creds = { password: randomBytes(18).toString('base64url') };
    await fs.writeFile(path, JSON.stringify(creds), { mode: 0o600 });
    return creds;
  }
}

async function choosePort(preferred: number, log: (l: string) => void): Promise<number> {
  if (preferred > 0 && (await portIsFree(preferred))) return preferred;
  const port = await freePort();
  if (preferred > 0) log(`port ${preferred} is taken; embedded PostgreSQL uses ${port}`);
  return port;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}
