/**
 * One measurement in a fresh process, so resident memory belongs to one model only. variants.ts
 * compiles it with tsc and runs the JavaScript, as a deployed server runs dist/ (compiling on the
 * fly would add the compiler's ~38 MB to every figure):
 *   node --expose-gc dist/bench-engine-child/bench/engine/variant-child.js <dir> <dtype> <threads> <tokens> [graph file]
 * Prints one JSON line: RSS before/after loading, single-stream decode tok/s, 8-stream aggregate
 * tok/s, the RSS peak during the 8 streams (their KV caches) and the RSS settled after them.
 */
import { createOnnxProvider } from '../../src/models/onnx';
import type { GenerationParams } from '../../src/models/provider.interface';
import { decodeRate } from './stats';

const [dir, dtype, threads, tokens, file] = process.argv.slice(2);
const PROMPTS8 = [
  'Once upon a time',
  'The quick brown fox jumps over the lazy dog and then',
  'In 1887 the engineers of the railway company decided',
  'Write a short poem about the sea:',
  'Q: What is the capital of France?\nA:',
  'The history of the city begins with a small settlement on the river, where',
  'def fibonacci(n):',
  'Dear customer, thank you for your message. Regarding your order of last week, we',
];
const params = (maxTokens: number): GenerationParams => ({
  maxTokens,
  temperature: 0,
  topP: 1,
  topK: 0,
  repetitionPenalty: 1,
  stop: [],
});
const rss = () => process.memoryUsage().rss;
/** Full GC twice with a pause: loading leaves hundreds of MB of garbage (file bytes, the edited graph). */
const settle = async () => {
  global.gc?.();
  await new Promise((r) => setTimeout(r, 300));
  global.gc?.();
};

(async () => {
  const n = Number(tokens);
  await settle();
  const before = rss();
  const provider = await createOnnxProvider({
    id: 'b',
    path: dir,
    dtype,
    file: file || undefined,
    threads: Number(threads),
    maxBatchSize: 8,
  });
  await provider.generate({ prompt: PROMPTS8[0], params: params(4) }); // warm-up
  await settle();
  const loaded = rss();
  const stamps: number[] = [];
  provider.setHooks({ onToken: () => stamps.push(performance.now()) });
  await provider.generate({ prompt: PROMPTS8[5], params: params(n) });
  const single = decodeRate(stamps);
  await settle();
  const afterSingle = rss();
  provider.setHooks({});
  const t0 = performance.now();
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rss())), 20);
  const rs = await Promise.all(PROMPTS8.map((prompt) => provider.generate({ prompt, params: params(n) })));
  clearInterval(sampler);
  const total = rs.reduce((s, r) => s + r.usage.completionTokens, 0);
  const eight = (total * 1000) / (performance.now() - t0);
  peak = Math.max(peak, rss());
  // Weights memory-mapped from the file become resident as they are read (embedding rows):
  // after traffic is the figure a serving process settles at, not only right after loading.
  await settle();
  const afterTraffic = rss();
  await provider.close();
  process.stdout.write(
    `${JSON.stringify({ dtype, before, loaded, afterSingle, peak8: peak, afterTraffic, single, eight, tokens: stamps.length, total })}\n`,
  );
})().catch((err) => {
  process.stderr.write(`${String(err?.stack ?? err)}\n`);
  process.exit(1);
});
