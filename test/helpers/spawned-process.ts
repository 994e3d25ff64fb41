import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor, WaitForTimeout } from './wait-for';

/**
 * Child processes for the CLI tests: spawned in their own session (as `setsid` does, so a signal
 * to the group is what a terminal's Ctrl+C sends), with every line they print kept so a timeout
 * says what the child printed. `cleanupSpawned()` (in afterAll) kills what is left, including
 * a PostgreSQL the child started in its own session, and removes the temp folders.
 */
export class Spawned {
  private out = '';
  private err = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    proc.stdout?.on('data', (d) => (this.out += d));
    proc.stderr?.on('data', (d) => (this.err += d));
    this.exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Everything the child printed, for failure messages. */
  transcript(): string {
    return `--- ${this.name} (pid ${this.proc.pid}) stdout ---\n${this.out}\n--- stderr ---\n${this.err}`;
  }

  /** Waits until `check` holds; fails with the transcript after `ms` or if the child exits first. */
  async waitFor(what: string, check: (s: Spawned) => boolean | Promise<boolean>, ms = 45_000): Promise<void> {
    await waitFor(what, () => check(this), {
      timeoutMs: ms,
      intervalMs: 100,
      abortIf: () => (this.running ? undefined : `${this.name} exited (${this.proc.exitCode ?? this.proc.signalCode})`),
      describe: () => this.transcript(),
    });
  }

  /** Resolves with the exit; fails with the transcript if it takes longer than `ms`. */
  async waitExit(ms = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`${this.name} still running after ${ms} ms\n${this.transcript()}`)), ms);
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Signals the whole process group, as a terminal does for Ctrl+C. */
  signalGroup(signal: NodeJS.Signals): void {
    process.kill(-this.pid, signal);
  }
}

const spawned: Spawned[] = [];
const dataDirs: string[] = [];
const tempDirs: string[] = [];

export function spawnInOwnSession(
  name: string,
  command: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): Spawned {
  const proc = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const s = new Spawned(name, proc);
  spawned.push(s);
  return s;
}

/** A temp folder (mode 0700 unless told) removed by cleanupSpawned(). */
export function tempDir(prefix: string, mode = 0o700): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  chmodSync(dir, mode);
  return dir;
}

/** Registers a DATA_DIR whose embedded PostgreSQL cleanupSpawned() must stop if still running. */
export function watchDataDir(dir: string): void {
  dataDirs.push(dir);
}

/** The postmaster pid recorded in `<dataDir>/postgres/postmaster.pid`, if any. */
export function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Pids of live processes whose process group is `pgid` (Linux /proc). */
export function processesInGroup(pgid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command: state ppid pgrp ...
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') found.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** Waits (bounded) until nothing of the group is left; returns what is still there. */
export async function waitGroupGone(pgid: number, ms = 10_000): Promise<number[]> {
  try {
    await waitFor(`process group ${pgid} to be gone`, () => processesInGroup(pgid), {
      until: (left) => left.length === 0,
      timeoutMs: ms,
      intervalMs: 100,
    });
    return [];
  } catch (e) {
    if (e instanceof WaitForTimeout) return processesInGroup(pgid);
    throw e;
  }
}

export async function cleanupSpawned(): Promise<void> {
  for (const s of spawned.splice(0)) {
    if (s.running) {
      try {
        s.signalGroup('SIGKILL');
      } catch {
        s.proc.kill('SIGKILL');
      }
      await s.exited;
    }
  }
  for (const dir of dataDirs.splice(0)) {
    const pid = postmasterPid(dir);
    if (pid && isAlive(pid)) {
      // Its own session: killing the server's group does not reach it. Immediate shutdown.
      process.kill(pid, 'SIGQUIT');
      // Bounded: cleanup must not hang on a PostgreSQL that ignores SIGQUIT.
      await waitFor(`PostgreSQL ${pid} to stop`, () => !isAlive(pid), { timeoutMs: 5_000, intervalMs: 50 }).catch(
        () => undefined,
      );
    }
  }
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
