import { type ChildProcess, spawn } from 'node:child_process';

/** Who runs PostgreSQL: ourselves, or (when we are root) the `postgres` user. */
/** Whom PostgreSQL runs as: this process's user (`{}`), or, when we are root, the postgres user. */
export type RunAs = { uid?: undefined; gid?: undefined } | { uid: number; gid: number };

export interface PostgresBinaries {
  /** Folder holding bin/, lib/ and share/ of one PostgreSQL distribution. */
  root: string;
  postgres: string;
  initdb: string;
  version: string;
}

/**
 * Stopping: "smart" shutdown (SIGTERM) first. The server has flushed and closed its pool by then,
 * but pg's pool reports itself ended before its sockets are closed; a fast shutdown at that moment
 * would log FATAL "terminating connection" for sessions that were leaving anyway. If a session
 * lingers, fast shutdown (SIGINT), then immediate (SIGQUIT). See docs/embedded-database.md.
 */
const SMART_GRACE_MS = 5_000;
const FAST_GRACE_MS = 25_000;
/** When this process ends without a clean stop (a crash) there is no time to wait: fast shutdown. */
const EXIT_SIGNAL = 'SIGINT';
const READY_TIMEOUT_MS = 120_000;

// English messages, whatever the machine's locale: readiness is detected from one log line.
const pgEnv = () => ({ ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' });

/**
 * Runs initdb in its own session (a Ctrl+C in the terminal must not reach it) and resolves when it
 * succeeds; rejects with what it printed.
 */
export function runInitdb(
  bin: PostgresBinaries,
  pgDir: string,
  pwFile: string,
  runAs: RunAs,
  log: (l: string) => void,
): Promise<void> {
  const args = [
    `--pgdata=${pgDir}`,
    '--auth=scram-sha-256',
    '--username=postgres',
    `--pwfile=${pwFile}`,
    '--encoding=UTF8',
    '--no-locale',
  ];
  return new Promise((resolve, reject) => {
    let output = '';
    const child = spawn(bin.initdb, args, {
      ...runAs,
      env: pgEnv(),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (d: Buffer) => {
      output += d.toString('utf8');
      for (const line of d.toString('utf8').split('\n')) if (line.trim()) log(line.trim());
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    // Detached like postgres: if we exit mid-way, initdb is told to stop (it removes what it made).
    const onExit = () => child.kill('SIGINT');
    process.on('exit', onExit);
    child.once('exit', () => process.removeListener('exit', onExit));
    child.once('error', (err) => {
      process.removeListener('exit', onExit);
      reject(new Error(`cannot run initdb (${bin.initdb}): ${err.message}`));
    });
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`initdb failed (${signal ?? `exit code ${code}`}): ${output.trim().slice(-2000)}`));
    });
  });
}

/** A postmaster started by this process, in its own session. */
export class PostgresProcess {
  private exited: Promise<void>;
  private readonly exitHook = () => this.killNow();

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((r) => child.once('exit', () => r()));
    // Detached, so it outlives us unless told: if this process ends without a clean stop (a crash,
    // process.exit after a failed start), a fast shutdown still reaches it. See docs/embedded-database.md.
    process.on('exit', this.exitHook);
    void this.exited.then(() => process.removeListener('exit', this.exitHook));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts postgres and resolves once it accepts connections; rejects with what it printed. */
  static start(
    bin: PostgresBinaries,
    pgDir: string,
    port: number,
    runAs: RunAs,
    log: (l: string) => void,
  ): Promise<PostgresProcess> {
    const args = [
      '-D',
      pgDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
    ];
    // detached: its own session and process group, so a terminal's SIGINT/SIGHUP reaches only us;
    // we stop it after flushing.
    const child = spawn(bin.postgres, args, {
      ...runAs,
      env: pgEnv(),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = new PostgresProcess(child);
    return new Promise((resolve, reject) => {
      let output = '';
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        proc.killNow();
        reject(
          new Error(
            `embedded PostgreSQL in ${pgDir} failed to start on port ${port}: ${why}${output ? `\n${output.trim().slice(-2000)}` : ''}`,
          ),
        );
      };
      const timer = setTimeout(() => fail(`not ready after ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS);
      const onData = (d: Buffer) => {
        const text = d.toString('utf8');
        if (!settled) output += text;
        for (const line of text.split('\n')) if (line.trim()) log(line.trim());
        if (!settled && output.includes('database system is ready to accept connections')) {
          settled = true;
          clearTimeout(timer);
          output = '';
          resolve(proc);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('error', (err) => fail(`cannot run ${bin.postgres}: ${err.message}`));
      child.once('exit', (code, signal) => fail(`it exited early (${signal ?? `exit code ${code}`})`));
    });
  }

  /** Smart shutdown, escalating to fast then immediate if sessions linger; resolves once it exited. */
  async stop(): Promise<void> {
    for (const [signal, graceMs] of [
      ['SIGTERM', SMART_GRACE_MS],
      ['SIGINT', FAST_GRACE_MS],
      ['SIGQUIT', 0],
    ] as const) {
      if (!this.running) break;
      this.child.kill(signal);
      if (graceMs && (await this.exitedWithin(graceMs))) break;
    }
    await this.exited;
  }

  private async exitedWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
    const done = await Promise.race([this.exited.then(() => true), late]);
    clearTimeout(timer);
    return done;
  }

  private killNow(): void {
    if (this.running) this.child.kill(EXIT_SIGNAL);
  }
}
