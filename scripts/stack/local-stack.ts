import { type ChildProcess, spawn } from 'node:child_process';
import { ensureDefaultModel } from '../../src/model-tools/default-model';
import { ensureBundledEncoder } from '../../src/model-tools/encoder/bundled-encoder';
import { BUNDLED_ENCODER_DIR, BUNDLED_MODEL_DIR } from '../../src/models/bundled-model';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { freePort } from '../../src/database/embedded-postgres.launcher';
import { projectRoot } from '../../src/common/project-root';
import { type RunningNginx, startLocalNginx } from './nginx-local';

/**
 * The stack without Docker (`make up-local`): N api replicas built from this checkout, against
 * this machine's PostgreSQL and Redis, behind a real nginx running the compose stack's routes
 * (nginx/llm/*.conf). Replicas start one after the other (each runs the migrations at start).
 */
export interface LocalStackOptions {
  port: number;
  replicas: number;
  databaseUrl: string;
  /** Empty: in-process limits and cache in each replica (they then do not share them). */
  redisUrl: string;
  /** Extra environment for the replicas. */
  env?: NodeJS.ProcessEnv;
  /** Where replica and nginx lines go. */
  log?: (line: string) => void;
  /** How long one replica may take to answer /healthz (default 120 s). */
  startTimeoutMs?: number;
}

export interface LocalStack {
  url: string;
  apiPorts: number[];
  nginx: RunningNginx;
  /** Resolves when any process of the stack exits on its own (its name and exit code). */
  died: Promise<{ name: string; code: number | null }>;
  stop(): Promise<void>;
}

const MAIN = () => join(projectRoot(), 'dist', 'src', 'main.js');

export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  const log = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  if (!existsSync(MAIN())) throw new Error(`${MAIN()} is missing: run npm run build first`);
  // What `npm start` does before the server: the bundled default model (docs/architecture.md).
  await ensureDefaultModel(BUNDLED_MODEL_DIR());
  await ensureBundledEncoder(BUNDLED_ENCODER_DIR());
  await ensureDatabase(opts.databaseUrl);
  const apis: ChildProcess[] = [];
  const apiPorts: number[] = [];
  let stopping = false;
  let reportDeath!: (d: { name: string; code: number | null }) => void;
  const died = new Promise<{ name: string; code: number | null }>((r) => (reportDeath = r));
  const stopApis = async () => {
    await Promise.all(
      apis.map((p) =>
        p.exitCode === null && p.signalCode === null
          ? new Promise((r) => (p.once('exit', r), p.kill('SIGTERM')))
          : undefined,
      ),
    );
  };
  try {
    for (let i = 1; i <= opts.replicas; i++) {
      const port = await freePort();
      const child = spawn(process.execPath, [MAIN()], {
        cwd: projectRoot(),
        env: {
          ...process.env,
          ...opts.env,
          HOST: '127.0.0.1',
          PORT: String(port),
          DATABASE_URL: opts.databaseUrl,
          REDIS_URL: opts.redisUrl,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      apis.push(child);
      apiPorts.push(port);
      prefixLines(child, `api-${i}`, log);
      child.once('exit', (code) => !stopping && reportDeath({ name: `api-${i}`, code }));
      await waitHealthy(port, child, opts.startTimeoutMs ?? 120_000);
      log(`[stack] api-${i} ready on 127.0.0.1:${port}`);
    }
  } catch (err) {
    stopping = true;
    await stopApis();
    throw err;
  }
  let nginx: RunningNginx;
  try {
    nginx = await startLocalNginx({ listenPort: opts.port, apiPorts });
  } catch (err) {
    stopping = true;
    await stopApis();
    throw err;
  }
  nginx.process.stderr!.on('data', (d: Buffer) =>
    d
      .toString()
      .split('\n')
      .filter(Boolean)
      .forEach((l) => log(`[nginx] ${l}`)),
  );
  nginx.process.once('exit', (code) => !stopping && reportDeath({ name: 'nginx', code }));
  return {
    url: `http://127.0.0.1:${opts.port}`,
    apiPorts,
    nginx,
    died,
    async stop() {
      stopping = true;
      await nginx.stop();
      await stopApis();
    },
  };
}

/** Creates the database named in the URL when it does not exist yet. */
async function ensureDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw new Error(`DATABASE_URL must name a simple database (got "${name}")`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!exists.rowCount) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

async function waitHealthy(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the api on port ${port} exited with code ${child.exitCode}`);
    // Bounded: a port taken by something else in the meantime must not hang the start.
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the api on port ${port} did not become healthy in ${timeoutMs / 1000} s`);
}

function prefixLines(child: ChildProcess, name: string, log: (line: string) => void): void {
  for (const stream of [child.stdout!, child.stderr!]) {
    let rest = '';
    stream.on('data', (d: Buffer) => {
      const lines = (rest + d.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) log(`[${name}] ${line}`);
    });
  }
}

const USAGE = `usage: npm run stack:local -- [--port 8080] [--replicas 2]
Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/llm_local, created if missing),
REDIS_URL (default redis://127.0.0.1:6379; set it empty for in-process limits), and any server setting.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8080' },
      replicas: { type: 'string', default: '2' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(`${USAGE}\n`);
  const port = Number(values.port);
  const replicas = Number(values.replicas);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error('--port must be a port number');
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 16) throw new Error('--replicas must be 1..16');
  const stack = await startLocalStack({
    port,
    replicas,
    databaseUrl: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/llm_local',
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  });
  process.stdout.write(
    `\n  LLM Server local stack: ${replicas} api replica${replicas > 1 ? 's' : ''} behind nginx\n` +
      `    playground  ${stack.url}/ui/\n    admin       ${stack.url}/ui/admin.html\n` +
      `    API         ${stack.url}/v1/   (docs at ${stack.url}/docs)\n` +
      `    Grafana     ${stack.url}/grafana/ answers only if a Grafana listens on 127.0.0.1:3000\n  Ctrl+C stops it.\n\n`,
  );
  let code = 0;
  const signal = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await Promise.race([
    signal,
    stack.died.then((d) => {
      process.stderr.write(`[stack] ${d.name} exited (code ${d.code}): stopping the stack\n`);
      code = 1;
    }),
  ]);
  await stack.stop();
  process.exit(code);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`local stack: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
