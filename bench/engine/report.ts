import { loadavg } from 'node:os';
import type { ConcurrentRun, SingleRun } from './contenders';
import { fmt, median, percentile } from './stats';

/** Everything one model's rounds measured, index = round. */
export interface Samples {
  bare: Array<{ ms: number; cpuRate: number }>;
  bareNoSpin: Array<{ ms: number; cpuRate: number }>;
  engine: SingleRun[];
  engineSpin: SingleRun[];
  tfjs: SingleRun[];
  eight: ConcurrentRun[];
}

const best = (xs: number[]) => Math.max(...xs);

export function report(name: string, device: string, threads: number, tokens: number, s: Samples): void {
  const rounds = s.engine.length;
  const bareRate = s.bare.map((b) => 1000 / b.ms);
  const bareNoSpinRate = s.bareNoSpin.map((b) => 1000 / b.ms);
  const decode = (runs: SingleRun[]) => runs.map((r) => r.decode);
  const row = (rates: number[], cpu: number[]) => ({
    'median tok/s': fmt(median(rates)),
    'best tok/s': fmt(best(rates)),
    'ms/token (median)': fmt(1000 / median(rates), 2),
    'tok per CPU-s': fmt(median(cpu)),
  });
  console.log(
    `\n== ${name} model: ${device}, ${threads} intra-op threads, ${tokens} new tokens, ${rounds} interleaved rounds, ` +
      `load average ${loadavg()[0].toFixed(1)} at the end`,
  );
  console.table({
    'bare session.run loop (onnxruntime default: spinning)': row(
      bareRate,
      s.bare.map((b) => b.cpuRate),
    ),
    'bare session.run loop, spinning off': row(
      bareNoSpinRate,
      s.bareNoSpin.map((b) => b.cpuRate),
    ),
    'this engine, 1 stream (default: spinWait off)': row(
      decode(s.engine),
      s.engine.map((r) => r.decodeCpu),
    ),
    'this engine, 1 stream, spinWait on': row(
      decode(s.engineSpin),
      s.engineSpin.map((r) => r.decodeCpu),
    ),
    'transformers.js, 1 stream (spinning)': row(
      decode(s.tfjs),
      s.tfjs.map((r) => r.decodeCpu),
    ),
    'this engine, 8 streams, aggregate incl. prefill': row(
      s.eight.map((r) => r.aggregate),
      s.eight.map((r) => r.aggregateCpu),
    ),
  });
  // Per-round ratios cancel load that drifts between rounds; the median of them is the headline.
  const ratio = (label: string, f: (r: number) => number, target = '') => {
    const xs = Array.from({ length: rounds }, (_, r) => f(r));
    console.log(`${label.padEnd(58)} ${fmt(median(xs), 2)}  (rounds: ${xs.map((x) => fmt(x, 2)).join(' ')})${target}`);
  };
  ratio('engine / bare floor (both defaults)', (r) => s.engine[r].decode / bareRate[r], '  target >= 0.90');
  ratio('engine / bare floor, same setting: spinning off', (r) => s.engine[r].decode / bareNoSpinRate[r]);
  ratio('engine / bare floor, same setting: spinning on', (r) => s.engineSpin[r].decode / bareRate[r]);
  ratio('engine / transformers.js (both defaults)', (r) => s.engine[r].decode / s.tfjs[r].decode, '  target >= 1.3');
  ratio('engine / transformers.js, same setting: spinning on', (r) => s.engineSpin[r].decode / s.tfjs[r].decode);
  ratio('8 streams / 1 stream (both incl. prefill)', (r) => s.eight[r].aggregate / s.engine[r].wall, '  target >= 3');
  const ttft8 = s.eight.flatMap((r) => r.ttftMs);
  console.log(
    `time to first token with 8 concurrent requests: p50 ${fmt(median(ttft8), 1)} ms, p90 ${fmt(percentile(ttft8, 90), 1)} ms` +
      ` | 1 request: engine p50 ${fmt(median(s.engine.map((r) => r.ttftMs)), 1)} ms, transformers.js p50 ${fmt(median(s.tfjs.map((r) => r.ttftMs)), 1)} ms`,
  );
  console.log(
    `tokens per run: engine ${s.engine[0].tokens}, transformers.js ${s.tfjs[0].tokens}, 8 streams ${s.eight[0].tokens}`,
  );
}
