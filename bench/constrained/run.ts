/**
 * Constrained decoding bench (docs/constrained-decoding.md):
 *   npm run bench:constrained -- [--rounds 5] [--tokens 48] [--skip-engine]
 * 1. token index build for the Qwen3 vocabulary (151,936 logits), fresh each round;
 * 2. schema compile (nested schema) and per-step cost: mask + applying it to a logits row, over
 *    random-sampled documents with large and tight budgets;
 * 3. the engine's decode step on a generated 150k-vocabulary model (4 layers, hidden 256, the
 *    real Qwen3 tokenizer), greedy and sampled, and the estimated constrained slowdown:
 *    (step + mask + apply) / step.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createOnnxProvider } from '../../src/models/onnx';
import { compileJsonConstraint } from '../../src/models/onnx/constrained/constraint';
import { TEST_SCHEMAS } from '../../src/models/onnx/constrained/test-schemas';
import type { TokenIndex } from '../../src/models/onnx/constrained/token-index';
import { mulberry32 } from '../../src/models/onnx/prng';
import { buildRealTokenizerModel } from '../../src/model-tools/real-tokenizer-model';
import { decodeRate, fmt, median, percentile } from '../engine/stats';
import { timeIndexAndCompile } from './index-timing';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    tokens: { type: 'string', default: '48' },
    'skip-engine': { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(args.rounds);
const TOKENS = Number(args.tokens);
const VOCAB = 151936;

/** Per-step mask and mask-application times (ms) over random-sampled documents. */
function maskSteps(
  index: TokenIndex,
  seeds: number[],
): { mask: number[]; apply: number[]; inString: number[]; structural: number[] } {
  const constraint = compileJsonConstraint(
    { type: 'json_schema', json_schema: { schema: TEST_SCHEMAS.nested } },
    index,
  );
  const min = constraint.minTokens();
  const logits = new Float32Array(VOCAB);
  const out = { mask: [] as number[], apply: [] as number[], inString: [] as number[], structural: [] as number[] };
  for (const seed of seeds) {
    const rng = mulberry32(seed);
    const budget = min + (seed % 2 ? 6 : 120);
    const state = constraint.start();
    for (let k = 0; k < budget && state.canContinue(); k++) {
      let t = performance.now();
      const mask = state.allowed(budget - k);
      const maskMs = performance.now() - t;
      for (let i = 0; i < VOCAB; i++) logits[i] = rng();
      t = performance.now();
      // What the engine adds per row: masked logits to -Infinity, then its usual sampling.
      for (let i = 0; i < VOCAB; i++) if (!mask[i]) logits[i] = -Infinity;
      out.apply.push(performance.now() - t);
      let best = 0;
      for (let i = 1; i < VOCAB; i++) if (logits[i] > logits[best]) best = i;
      out.mask.push(maskMs);
      (mask[best] && index.bytesOf(best)?.length && countAllowed(mask) > 1000 ? out.inString : out.structural).push(
        maskMs,
      );
      state.advance(best);
    }
  }
  return out;
}

function countAllowed(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return n;
}

async function engineStepMs(dir: string, temperature: number): Promise<number> {
  const provider = await createOnnxProvider({ id: 'bench-150k', path: dir, threads: 2 });
  try {
    const stamps: number[] = [];
    provider.setHooks({ onToken: () => stamps.push(performance.now()) });
    const rates: number[] = [];
    for (let r = 0; r < 2; r++) {
      stamps.length = 0;
      await provider.generate({
        prompt: 'The quick brown fox jumps over the lazy dog',
        params: { maxTokens: TOKENS, temperature, topP: 1, topK: 0, repetitionPenalty: 1, stop: [], seed: r },
      });
      rates.push(decodeRate(stamps));
    }
    return 1000 / median(rates);
  } finally {
    await provider.close();
  }
}

async function main(): Promise<void> {
  console.log(
    `constrained decoding bench: Qwen3 vocabulary (${VOCAB} logits), ${ROUNDS} rounds, load average ${require('node:os')
      .loadavg()
      .map((x: number) => x.toFixed(1))
      .join(' ')}`,
  );
  const { index, builds, compiles } = timeIndexAndCompile(VOCAB, ROUNDS);
  console.log(
    `token index build: median ${fmt(median(builds))} ms, best ${fmt(Math.min(...builds))} ms (target <= 2000 ms once per tokenizer); rounds: ${builds.map((x) => fmt(x)).join(' ')}`,
  );
  console.log(`schema compile (nested, uncached): median ${fmt(median(compiles), 2)} ms`);

  const steps = maskSteps(
    index!,
    Array.from({ length: 4 * ROUNDS }, (_, i) => i + 1),
  );
  const perStep = steps.mask.map((m, i) => m + steps.apply[i]);
  console.log(
    `per step (${steps.mask.length} steps): mask median ${fmt(median(steps.mask), 3)} ms, p90 ${fmt(percentile(steps.mask, 90), 3)} ms, p99 ${fmt(percentile(steps.mask, 99), 2)} ms, max ${fmt(Math.max(...steps.mask), 1)} ms; ` +
      `inside strings median ${fmt(median(steps.inString), 3)} ms (${steps.inString.length}), elsewhere ${fmt(median(steps.structural), 3)} ms (${steps.structural.length}); ` +
      `applying the mask median ${fmt(median(steps.apply), 3)} ms; mask + apply mean ${fmt(perStep.reduce((a, b) => a + b, 0) / perStep.length, 3)} ms`,
  );
  if (args['skip-engine']) return;

  const dir = mkdtempSync(join(tmpdir(), 'llm-server-bench-constrained-'));
  try {
    await buildRealTokenizerModel({ outDir: dir, tokenizer: 'qwen3', layers: 4, hidden: 256, heads: 4, seed: 1234 });
    const meanExtra = perStep.reduce((a, b) => a + b, 0) / perStep.length;
    for (let r = 0; r < 2; r++) {
      const greedy = await engineStepMs(dir, 0);
      const sampled = await engineStepMs(dir, 1);
      console.log(
        `engine round ${r + 1}: decode step greedy ${fmt(greedy, 2)} ms, sampled ${fmt(sampled, 2)} ms; ` +
          `estimated constrained slowdown vs sampled ${fmt((100 * meanExtra) / sampled, 1)}%, vs greedy ${fmt((100 * (meanExtra + Math.max(0, sampled - greedy))) / greedy, 1)}% (target <= 15%)`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
