/**
 * HTTP bench: requests/s and latency of cache hits on an inference route against a bare Fastify
 * "hello" route, measured in alternating rounds in the same run (the machine is shared: only
 * the ratio within one run means anything). Target: hits >= 50% of hello's req/s, p50 < 1 ms at
 * one connection.
 *
 *   node -r ./scripts/swc-register.js bench/cache/http.ts \
 *     --url http://127.0.0.1:8000/v1/generate --header 'x-api-key: sk-...' \
 *     --body '{"prompt":"Say hello","temperature":0,"max_tokens":16}' \
 *     [--method POST] [--hello-url http://127.0.0.1:8000/hello] [--connections 1,10] [--seconds 5] [--rounds 2]
 *
 * Without --hello-url a bare Fastify server is started in a child process as the peer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';

const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
}

const argv = process.argv.slice(2);
const arg = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const headers: Record<string, string> = {};
argv.forEach((a, i) => {
  if (a === '--header') {
    const [k, ...v] = argv[i + 1].split(':');
    headers[k.trim().toLowerCase()] = v.join(':').trim();
  }
});
const url = arg('url');
const body = arg('body');
const method = arg('method') ?? (body ? 'POST' : 'GET');
const seconds = Number(arg('seconds') ?? 5);
const rounds = Number(arg('rounds') ?? 2);
const connectionsList = (arg('connections') ?? '1,10').split(',').map(Number);
if (!url) {
  console.error('usage: http.ts --url <inference url> [--header "k: v"]... [--body <json>] [--hello-url <url>]');
  process.exit(2);
}
if (body && !headers['content-type']) headers['content-type'] = 'application/json';

async function startHello(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(__dirname, 'hello-server.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => child.stdout!.once('data', (d) => resolve(String(d).trim())));
  return { url: `http://127.0.0.1:${port}/hello`, child };
}

async function preflight(): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const res = await fetch(url!, { method, headers, body });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${url} answered ${res.status}: ${text.slice(0, 300)}`);
    if (i === 1 && res.headers.get('x-cache') !== 'hit') {
      console.warn(`warning: the second identical request answered x-cache: ${res.headers.get('x-cache')}, not hit`);
    }
  }
}

async function measure(target: string, connections: number, withBody: boolean, cache: Record<string, number>) {
  const r = await autocannon({
    url: target,
    connections,
    duration: seconds,
    requests: [
      {
        method: withBody ? method : 'GET',
        headers: withBody ? headers : {},
        body: withBody ? body : undefined,
        onResponse: (_s: number, _b: string, _c: unknown, h: Record<string, string>) => {
          const v = h?.['x-cache'] ?? 'none';
          cache[v] = (cache[v] ?? 0) + 1;
        },
      },
    ],
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, bad: r.non2xx + r.errors };
}

/**
 * One keep-alive connection, requests back to back, timed with performance.now(): autocannon
 * reports whole milliseconds, too coarse for the p50 < 1 ms target.
 */
async function latencyProbe(target: string, withBody: boolean): Promise<{ rps: number; p50: number; p99: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const u = new URL(target);
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const req = httpRequest(
        {
          agent,
          host: u.hostname,
          port: u.port,
          path: u.pathname + u.search,
          method: withBody ? method : 'GET',
          headers: withBody ? headers : {},
        },
        (res) => {
          res.on('data', () => undefined);
          res.on('end', () => resolve());
        },
      );
      req.on('error', reject);
      req.end(withBody ? body : undefined);
    });
  for (let i = 0; i < 200; i++) await once();
  const samples: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t = performance.now();
    await once();
    samples.push(performance.now() - t);
  }
  agent.destroy();
  samples.sort((a, b) => a - b);
  const q = (f: number) => samples[Math.min(samples.length - 1, Math.floor(f * samples.length))];
  return { rps: samples.length / seconds, p50: q(0.5), p99: q(0.99) };
}

async function main(): Promise<void> {
  await preflight();
  const given = arg('hello-url');
  const hello = given ? { url: given, child: undefined } : await startHello();
  try {
    console.log(`target ${method} ${url}\npeer   GET ${hello.url}\n${seconds}s x ${rounds} rounds, alternating\n`);
    console.log('conns | route  |    req/s | p50 ms | p99 ms | non-2xx | x-cache');
    for (const c of connectionsList) {
      const sums = { hit: { rps: 0, p50: 0 }, hello: { rps: 0, p50: 0 } };
      for (let round = 0; round < rounds; round++) {
        const cache: Record<string, number> = {};
        const t = await measure(url!, c, true, cache);
        const hv = await measure(hello.url, c, false, {});
        sums.hit.rps += t.rps;
        sums.hit.p50 += t.p50;
        sums.hello.rps += hv.rps;
        sums.hello.p50 += hv.p50;
        const tally = Object.entries(cache)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ');
        console.log(
          `${String(c).padStart(5)} | hits   | ${t.rps.toFixed(0).padStart(8)} | ${t.p50.toFixed(2).padStart(6)} | ${t.p99.toFixed(2).padStart(6)} | ${String(t.bad).padStart(7)} | ${tally}`,
        );
        console.log(
          `${String(c).padStart(5)} | hello  | ${hv.rps.toFixed(0).padStart(8)} | ${hv.p50.toFixed(2).padStart(6)} | ${hv.p99.toFixed(2).padStart(6)} | ${String(hv.bad).padStart(7)} |`,
        );
      }
      const ratio = sums.hit.rps / sums.hello.rps;
      console.log(
        `${String(c).padStart(5)} | ratio  | hits are ${(100 * ratio).toFixed(0)}% of hello's req/s (target >= 50%)\n`,
      );
    }
    console.log('one keep-alive connection, sequential, sub-millisecond timing:');
    for (let round = 0; round < rounds; round++) {
      const t = await latencyProbe(url!, true);
      const hv = await latencyProbe(hello.url, false);
      console.log(
        `  hits  ${t.rps.toFixed(0).padStart(7)} req/s  p50 ${t.p50.toFixed(3)} ms  p99 ${t.p99.toFixed(3)} ms  (target p50 < 1 ms)`,
      );
      console.log(
        `  hello ${hv.rps.toFixed(0).padStart(7)} req/s  p50 ${hv.p50.toFixed(3)} ms  p99 ${hv.p99.toFixed(3)} ms`,
      );
    }
  } finally {
    hello.child?.kill('SIGTERM');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
