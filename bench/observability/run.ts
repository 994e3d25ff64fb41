/**
 * What metrics and request logging cost: requests/s of a cheap authenticated route with the
 * request observer on (production: Prometheus hook + one JSON log line per request, stdout
 * drained through a pipe) against the same server with it off, in interleaved rounds of one run
 * (the machine is shared: only the ratio means anything). Budget: on >= 90% of off.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
 *     node -r ./scripts/swc-register.js bench/observability/run.ts \
 *       [--duration 6] [--connections 32] [--rounds 5] [--path /bench/ping]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';

// autocannon ships no types; this is the part used here.
const autocannon = require('autocannon') as (
  opts: Record<string, unknown>,
) => Promise<{ non2xx: number; requests: { average: number } }>;

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const duration = Number(args.get('duration') ?? 6);
const connections = Number(args.get('connections') ?? 32);
const rounds = Number(args.get('rounds') ?? 5);
const path = args.get('path') ?? '/bench/ping';
const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const KEY = `sk-bench-${randomBytes(18).toString('base64url')}`;

interface Server {
  mode: 'on' | 'off';
  proc: ChildProcess;
  port: number;
  /** stdout lines the server wrote, known once it has exited. */
  logLines: Promise<number>;
}

async function withDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const name = `llm_bench_obs_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

function start(mode: 'on' | 'off', dbUrl: string): Promise<Server> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: dbUrl,
    PORT: '0',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    BOOTSTRAP_API_KEY: KEY,
    BENCH_OBSERVER: mode,
    MODELS_CONFIG: join(__dirname, '../../test/fixtures/none.yaml'),
    RATE_LIMIT_RPM_ADMIN: 'unlimited',
    NODE_ENV: 'production',
  };
  delete env.REDIS_URL;
  // stdout goes through a pipe to a process of its own, as a container runtime's log reader
  // would: reading it here would steal CPU from the load generator.
  const sink = spawn('wc', ['-l'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let sinkOut = '';
  sink.stdout!.on('data', (d) => (sinkOut += d));
  const proc = spawn(
    process.execPath,
    ['-r', join(__dirname, '../../scripts/swc-register.js'), join(__dirname, 'server.ts')],
    { env, stdio: ['ignore', sink.stdin!, 'pipe'] },
  );
  sink.stdin!.destroy(); // the server holds the only write end now: wc ends when it exits
  const logLines = new Promise<number>((r) => sink.on('exit', () => r(Number(sinkOut.trim()))));
  return new Promise((resolve, reject) => {
    let err = '';
    proc.stderr!.on('data', (d) => {
      err += d;
      const m = /READY (\d+)/.exec(err);
      if (m) resolve({ mode, proc, port: Number(m[1]), logLines });
    });
    proc.on('exit', (code) => reject(new Error(`${mode} server exited (${code}): ${err}`)));
  });
}

async function measure(s: Server, seconds: number): Promise<number> {
  const r = await autocannon({
    url: `http://127.0.0.1:${s.port}${path}`,
    connections,
    duration: seconds,
    headers: { 'x-api-key': KEY },
  });
  if (r.non2xx) throw new Error(`${s.mode}: ${r.non2xx} non-2xx answers from ${path}`);
  return r.requests.average;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  await withDatabase(async (dbUrl) => {
    // One at a time: two migrations racing on a fresh database would collide.
    const on = await start('on', dbUrl);
    const off = await start('off', dbUrl);
    try {
      for (const s of [on, off, on, off]) await measure(s, 2); // warm-up: JIT, key cache, connections
      const rps: Record<'on' | 'off', number[]> = { on: [], off: [] };
      for (let r = 0; r < rounds; r++) {
        for (const s of r % 2 ? [off, on] : [on, off]) {
          const v = await measure(s, duration);
          rps[s.mode].push(v);
          console.log(`round ${r + 1} ${s.mode.padEnd(3)} ${Math.round(v).toString().padStart(7)} req/s`);
        }
      }
      const ratio = median(rps.on) / median(rps.off);
      console.log(
        `RESULT path=${path} connections=${connections} on=${Math.round(median(rps.on))} off=${Math.round(median(rps.off))} req/s (medians)`,
      );
      console.log(
        `RATIO observer on/off requests/s = ${ratio.toFixed(3)} (budget >= 0.90: ${ratio >= 0.9 ? 'PASS' : 'FAIL'})`,
      );
    } finally {
      for (const s of [on, off]) s.proc.kill('SIGTERM');
      // Every request of the "on" server wrote one line; the "off" one only its start-up lines.
      console.log(`log lines on stdout: on=${await on.logLines} off=${await off.logLines}`);
    }
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
