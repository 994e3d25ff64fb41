/**
 * Structured output and `n` on a 150k-vocabulary model (issue 15, docs/constrained-decoding.md),
 * end to end through `OnnxProvider.generate({ messages, params, body })` with the OpenAI fields in
 * `body`, as the gateway calls it. The model: 4 layers, hidden 256, the real Qwen3 tokenizer
 * (151,936 logits), random weights. Measured in interleaved rounds (round 0 is a warm-up):
 *   - constrained (nested json_schema) vs unconstrained decode tokens/s, both sampled at
 *     temperature 1 with the same seeds, decode time only (engine hooks);  target >= 0.85
 *   - the token index (mask compilation) for that vocabulary, built fresh;  target <= 2 s
 *   - `n = 4` aggregate tokens/s vs one stream, prefill included;  target >= 2.5x
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createOnnxProvider, type OnnxProvider } from '../../src/models/onnx';
import { TEST_SCHEMAS } from '../../src/models/onnx/constrained/test-schemas';
import type { ChatMessage, GenerationParams } from '../../src/models/provider.interface';
import { ensureDefaultModel, LARGE_MODEL_SPEC } from '../../src/model-tools/default-model';
import { buildRealTokenizerModel } from '../../src/model-tools/real-tokenizer-model';
import { cpuMsSince, decodeRate, fmt, median } from './stats';
import { timeIndexAndCompile } from '../constrained/index-timing';

const VOCAB = 151936;
const MESSAGES: ChatMessage[] = [
  {
    role: 'user',
    content: 'Extract the customer, their tags and the items of this order as JSON: Ada bought two books.',
  },
];
const RESPONSE_FORMAT = {
  type: 'json_schema',
  json_schema: { name: 'order', strict: true, schema: TEST_SCHEMAS.nested },
};
/** The nested schema's shortest document is ~80 tokens: the structured runs get room beyond it. */
const STRUCTURED_TOKENS = 160;

interface Run {
  /** Tokens/s after the first token (all choices). */
  decode: number;
  /** Tokens per CPU-second after the first token: work done, much less sensitive to other load. */
  decodeCpu: number;
  /** Completion tokens (all choices) / wall time of the request, prefill included. */
  wall: number;
  tokens: number;
}

/** The bench model folder, built once into the cache folder (the ONNX file is written last). */
async function ensureModel(root: string): Promise<string> {
  const dir = join(root, 'structured-qwen3-4x256');
  if (!existsSync(join(dir, 'onnx', 'model.onnx'))) {
    await buildRealTokenizerModel({ outDir: dir, tokenizer: 'qwen3', layers: 4, hidden: 256, heads: 4, seed: 1234 });
    console.log(`built the 150k-vocabulary structured-output model in ${dir}`);
  }
  return dir;
}

function sampled(maxTokens: number, seed: number): GenerationParams {
  return { maxTokens, temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1, stop: [], seed };
}

/** One request through the provider, its OpenAI fields in `body`; `firstStep` = choices whose first token comes from the prefill. */
async function run(
  provider: OnnxProvider,
  params: GenerationParams,
  extra: Record<string, unknown>,
  firstStep = 1,
): Promise<Run> {
  const stamps: number[] = [];
  let cpuFrom = process.cpuUsage();
  let cpuMs = NaN;
  provider.setHooks({
    onToken: () => {
      stamps.push(performance.now());
      if (stamps.length === firstStep) cpuFrom = process.cpuUsage();
      else if (stamps.length > firstStep) cpuMs = cpuMsSince(cpuFrom);
    },
  });
  const body = {
    model: 'bench',
    messages: MESSAGES,
    max_tokens: params.maxTokens,
    temperature: params.temperature,
    seed: params.seed,
    ...extra,
  };
  const t0 = performance.now();
  const r = await provider.generate({ messages: MESSAGES, params, body });
  const wallMs = performance.now() - t0;
  provider.setHooks({});
  // With n choices the prefill step gives n tokens at once: decode time starts after them.
  const decode = decodeRate(stamps.slice(firstStep - 1));
  const decodeCpu = ((stamps.length - firstStep) * 1000) / cpuMs;
  return { decode, decodeCpu, wall: (r.usage.completionTokens * 1000) / wallMs, tokens: r.usage.completionTokens };
}

/** Four separate requests at once (what `n = 4` saves over): aggregate tokens/s, prefill included. */
async function fourRequests(provider: OnnxProvider, maxTokens: number, seed: number): Promise<number> {
  const t0 = performance.now();
  const rs = await Promise.all(
    [0, 1, 2, 3].map((i) => {
      const params = sampled(maxTokens, seed + i);
      const body = { model: 'bench', messages: MESSAGES, max_tokens: maxTokens, temperature: 1, seed: seed + i };
      return provider.generate({ messages: MESSAGES, params, body });
    }),
  );
  return (rs.reduce((n, r) => n + r.usage.completionTokens, 0) * 1000) / (performance.now() - t0);
}

function ratioLine(label: string, xs: number[], target: string): void {
  console.log(`${label.padEnd(62)} ${fmt(median(xs), 2)}  (rounds: ${xs.map((x) => fmt(x, 2)).join(' ')})  ${target}`);
}

export async function benchStructured(root: string, rounds: number, tokens: number, threads: number): Promise<void> {
  const dir = await ensureModel(root);
  // Mask compilation: the vocabulary's byte trie, fresh each round (the engine caches it per tokenizer).
  const { builds, compiles } = timeIndexAndCompile(VOCAB, rounds);

  const provider = await createOnnxProvider({
    id: 'bench-structured',
    path: dir,
    threads,
    maxBatchSize: 8,
    maxQueue: 64,
  });
  const free: Run[] = [];
  const constrained: Run[] = [];
  const one: Run[] = [];
  const four: Run[] = [];
  const concurrent: number[] = [];
  try {
    for (let r = 0; r <= rounds; r++) {
      const seed = 100 + r;
      const round = {
        free: await run(provider, sampled(STRUCTURED_TOKENS, seed), {}),
        constrained: await run(provider, sampled(STRUCTURED_TOKENS, seed), { response_format: RESPONSE_FORMAT }),
        one: await run(provider, sampled(tokens, seed), {}),
        four: await run(provider, sampled(tokens, seed), { n: 4 }, 4),
        concurrent: await fourRequests(provider, tokens, seed),
      };
      if (r === 0) continue; // warm-up: first schema compile, lazy allocations, JIT
      free.push(round.free);
      constrained.push(round.constrained);
      one.push(round.one);
      four.push(round.four);
      concurrent.push(round.concurrent);
      process.stdout.write(`  structured round ${r}/${rounds}\r`);
    }
  } finally {
    await provider.close();
  }

  console.log(
    `\n== structured output and n: Qwen3 vocabulary (${VOCAB} logits), 4 layers, hidden 256, ${threads} intra-op threads, ` +
      `${rounds} interleaved rounds, load average ${loadavg()[0].toFixed(1)} at the end`,
  );
  const row = (runs: Run[]) => ({
    'decode tok/s (median)': fmt(median(runs.map((x) => x.decode))),
    'tok/s incl. prefill (median)': fmt(median(runs.map((x) => x.wall))),
    'decode tok per CPU-s (median)': fmt(median(runs.map((x) => x.decodeCpu))),
    'tokens per run': runs.map((x) => x.tokens).join(' '),
  });
  console.table({
    [`unconstrained, sampled, max_tokens ${STRUCTURED_TOKENS}`]: row(free),
    [`json_schema (nested), sampled, max_tokens ${STRUCTURED_TOKENS}`]: row(constrained),
    [`1 choice, sampled, max_tokens ${tokens}`]: row(one),
    [`n = 4, sampled, max_tokens ${tokens} (aggregate)`]: row(four),
  });
  console.log(
    `token index build (fresh): median ${fmt(median(builds))} ms, best ${fmt(Math.min(...builds))} ms, worst ${fmt(Math.max(...builds))} ms  target <= 2000 ms; ` +
      `nested schema compile (uncached): median ${fmt(median(compiles), 2)} ms`,
  );
  const per = (f: (r: number) => number) => Array.from({ length: free.length }, (_, r) => f(r));
  ratioLine(
    'constrained / unconstrained decode tok/s (same seeds)',
    per((r) => constrained[r].decode / free[r].decode),
    'target >= 0.85',
  );
  ratioLine(
    'n = 4 aggregate / 1 stream (both incl. prefill)',
    per((r) => four[r].wall / one[r].wall),
    'target >= 2.5',
  );
  ratioLine(
    'n = 4 aggregate / 1 stream, decode only',
    per((r) => four[r].decode / one[r].decode),
    '(info)',
  );
  ratioLine(
    'constrained / unconstrained, tokens per CPU-second',
    per((r) => constrained[r].decodeCpu / free[r].decodeCpu),
    '(info)',
  );
  ratioLine(
    'n = 4 / 1 stream, tokens per CPU-second',
    per((r) => four[r].decodeCpu / one[r].decodeCpu),
    '(info)',
  );
  ratioLine(
    '4 separate requests at once / 1 stream (incl. prefill)',
    per((r) => concurrent[r] / one[r].wall),
    '(info)',
  );
  await nOnLargeModel(root, rounds, tokens, threads);
}

/**
 * n = 4 against one stream on the 114M-parameter llama of `--models large` (GPT-2 vocabulary):
 * the 150k-vocabulary model above is almost all output head (compute-bound at batch 4), this
 * one has the proportions of a real model, whose layers dominate a step.
 */
async function nOnLargeModel(root: string, rounds: number, tokens: number, threads: number): Promise<void> {
  const dir = join(root, 'large');
  if (await ensureDefaultModel(dir, LARGE_MODEL_SPEC)) console.log(`built large model in ${dir}`);
  const provider = await createOnnxProvider({ id: 'bench-large', path: dir, threads, maxBatchSize: 8 });
  const one: Run[] = [];
  const four: Run[] = [];
  try {
    for (let r = 0; r <= rounds; r++) {
      const a = await run(provider, sampled(tokens, 300 + r), {});
      const b = await run(provider, sampled(tokens, 300 + r), { n: 4 }, 4);
      if (r === 0) continue;
      one.push(a);
      four.push(b);
    }
  } finally {
    await provider.close();
  }
  console.log(
    `\n== n on the 114M-parameter llama (fp32, GPT-2 vocabulary), ${threads} intra-op threads, load average ${loadavg()[0].toFixed(1)}`,
  );
  ratioLine(
    'n = 4 aggregate / 1 stream (both incl. prefill)',
    one.map((o, r) => four[r].wall / o.wall),
    'target >= 2.5',
  );
}
