/**
 * undici (what the remote-model client uses) against axios (the design card's pick) for the
 * calls the gateway makes per request to an OpenAI-compatible upstream: a non-streamed chat
 * completion (POST + JSON parse) and a streamed one read to [DONE]. The upstream is a bare
 * node:http mock in its own process. Rounds are interleaved (undici/axios, then axios/undici,
 * ...) and medians reported, because on a shared machine only the ratio means much; client CPU
 * per request is printed too, as it is less noisy than requests/s. See docs/dependencies.md.
 *
 *   node -r ./scripts/swc-register.js bench/http-client/run.ts \
 *     [--seconds 1.5] [--rounds 5] [--concurrency 1,32] [--modes json,sse] [--requests N]
 *
 * --requests N runs each round for N requests instead of for --seconds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fmt, median, percentile } from '../engine/stats';
import { axiosContender, undiciContender, type Contender, type Mode } from './clients';

const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const seconds = Number(arg('seconds') ?? 1.5);
const rounds = Number(arg('rounds') ?? 5);
const requests = arg('requests') ? Number(arg('requests')) : undefined;
const concurrencies = (arg('concurrency') ?? '1,32').split(',').map(Number);
const modes = (arg('modes') ?? 'json,sse').split(',') as Mode[];

interface Round {
  rps: number;
  p50: number;
  p99: number;
  /** Client CPU (user + system) per request, µs. */
  cpuUs: number;
}

async function startUpstream(): Promise<{ origin: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(__dirname, 'mock-upstream.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`mock upstream exited with ${code}`)));
    child.stdout!.once('data', (d) => resolve(String(d).trim()));
  });
  return { origin: `http://127.0.0.1:${port}`, child };
}

/** `concurrency` workers call back to back until the round's time (or request count) is spent. */
async function round(
  c: Contender,
  mode: Mode,
  concurrency: number,
  budget: { seconds: number } | { requests: number },
): Promise<Round> {
  const latencies: number[] = [];
  let started = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = 'seconds' in budget ? t0 + budget.seconds * 1000 : Infinity;
  const limit = 'requests' in budget ? budget.requests : Infinity;
  const worker = async (): Promise<void> => {
    while (started < limit && performance.now() < deadline) {
      started++;
      const s = performance.now();
      await c.call(mode);
      latencies.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    rps: (latencies.length * 1000) / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuUs: (cpu.user + cpu.system) / latencies.length,
  };
}

function summary(rs: Round[]) {
  return {
    rps: median(rs.map((r) => r.rps)),
    p50: median(rs.map((r) => r.p50)),
    p99: median(rs.map((r) => r.p99)),
    cpuUs: median(rs.map((r) => r.cpuUs)),
  };
}

async function main(): Promise<void> {
  const { origin, child } = await startUpstream();
  const contenders = [undiciContender(origin), axiosContender(origin)];
  const budget = requests ? { requests } : { seconds };
  try {
    console.log(
      `node ${process.version}, ${rounds} interleaved rounds of ${requests ? `${requests} requests` : `${seconds} s`} per contender and case`,
    );
    for (const c of contenders) for (const mode of modes) await round(c, mode, 32, { requests: 500 }); // warm-up (JIT, sockets)
    const lines: string[] = [];
    for (const mode of modes) {
      for (const concurrency of concurrencies) {
        const results = new Map<string, Round[]>(contenders.map((c) => [c.name, []]));
        const ratios: number[] = [];
        for (let r = 0; r < rounds; r++) {
          const order = r % 2 === 0 ? contenders : [...contenders].reverse();
          const got: Record<string, Round> = {};
          for (const c of order) {
            got[c.name] = await round(c, mode, concurrency, budget);
            results.get(c.name)!.push(got[c.name]);
          }
          ratios.push(got.undici.rps / got.axios.rps);
        }
        const label = `${mode === 'json' ? 'non-streamed' : 'streamed (SSE)'} c=${concurrency}`;
        for (const c of contenders) {
          const s = summary(results.get(c.name)!);
          console.log(
            `${label.padEnd(22)} ${c.name.padEnd(6)} ${fmt(s.rps).padStart(6)} req/s  p50 ${fmt(s.p50, 2).padStart(6)} ms  p99 ${fmt(s.p99, 2).padStart(6)} ms  cpu ${fmt(s.cpuUs).padStart(4)} µs/req`,
          );
        }
        const u = summary(results.get('undici')!);
        const a = summary(results.get('axios')!);
        const line = `RATIO ${label}: undici/axios requests/s = ${fmt(median(ratios), 2)}x (rounds ${ratios.map((x) => fmt(x, 2)).join(' ')}); client CPU per request ${fmt(u.cpuUs)} vs ${fmt(a.cpuUs)} µs`;
        console.log(line);
        lines.push(line);
      }
    }
    console.log('\n' + lines.join('\n'));
  } finally {
    await Promise.all(contenders.map((c) => c.close()));
    child.kill('SIGTERM');
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
