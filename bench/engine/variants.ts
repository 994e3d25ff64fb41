/**
 * fp32 against 4-bit (MatMulNBits) on a model large enough to be memory-bound (≥ 100M
 * parameters): decode tokens/s and resident memory, each measurement in its own process,
 * fp32 and q4 alternating round by round.
 *   npm run bench:engine -- --models large [--rounds 3] [--tokens 64] [--threads 2]
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDefaultModel, LARGE_MODEL_SPEC } from '../../src/model-tools/default-model';
import { writeVariant } from '../../src/model-tools/variants/write-variant';
import { fmt, median } from './stats';

interface ChildResult {
  dtype: string;
  before: number;
  loaded: number;
  afterSingle: number;
  peak8: number;
  afterTraffic: number;
  single: number;
  eight: number;
  tokens: number;
  total: number;
}

const MB = 1024 * 1024;

export async function benchVariants(root: string, rounds: number, tokens: number, threads: number): Promise<void> {
  const dir = join(root, 'large');
  if (await ensureDefaultModel(dir, LARGE_MODEL_SPEC)) console.log(`built large model in ${dir}`);
  if (!existsSync(join(dir, 'onnx', 'model_q4.onnx'))) {
    const r = await writeVariant(dir, { dtype: 'q4', blockSize: 32, accuracyLevel: 4 });
    console.log(`wrote ${r.output}: ${r.detail}`);
  }
  const runs: Record<string, ChildResult[]> = { fp32: [], q4: [] };
  for (let r = 0; r < rounds; r++) {
    for (const dtype of r % 2 ? ['q4', 'fp32'] : ['fp32', 'q4']) {
      const out = execFileSync(
        process.execPath,
        [
          '--expose-gc',
          '-r',
          './scripts/swc-register.js',
          'bench/engine/variant-child.ts',
          dir,
          dtype,
          String(threads),
          String(tokens),
        ],
        { encoding: 'utf8', maxBuffer: 1 << 20 },
      );
      runs[dtype].push(JSON.parse(out.trim().split('\n').pop() ?? '{}') as ChildResult);
      process.stdout.write(`  large round ${r + 1}/${rounds} ${dtype}\r`);
    }
  }
  const row = (xs: ChildResult[]) => ({
    'decode tok/s 1 stream (median)': fmt(median(xs.map((x) => x.single)), 1),
    'aggregate tok/s 8 streams': fmt(median(xs.map((x) => x.eight)), 1),
    'RSS loaded MB': fmt(median(xs.map((x) => x.loaded / MB))),
    'model MB (RSS loaded - before)': fmt(median(xs.map((x) => (x.loaded - x.before) / MB))),
    'RSS after traffic MB': fmt(median(xs.map((x) => x.afterTraffic / MB))),
    'per extra sequence MB (8 streams)': fmt(median(xs.map((x) => (x.peak8 - x.afterSingle) / 7 / MB)), 1),
  });
  console.log(
    `\n== large model (114M parameters): fp32 vs q4 block 32, ${threads} threads, ${tokens} new tokens, ${rounds} rounds (one process each)`,
  );
  console.table({ fp32: row(runs.fp32), q4: row(runs.q4) });
  const ratio = (label: string, xs: number[], target: string) =>
    console.log(
      `${label.padEnd(48)} ${fmt(median(xs), 2)}  (rounds: ${xs.map((x) => fmt(x, 2)).join(' ')})  ${target}`,
    );
  const pairs = runs.fp32.map((f, i) => [f, runs.q4[i]] as const);
  ratio(
    'q4 / fp32 decode tok/s, 1 stream',
    pairs.map(([f, q]) => q.single / f.single),
    'target >= 1.8',
  );
  ratio(
    'q4 / fp32 resident memory when loaded',
    pairs.map(([f, q]) => q.loaded / f.loaded),
    'target <= 0.35',
  );
  ratio(
    'q4 / fp32 resident memory after traffic',
    pairs.map(([f, q]) => q.afterTraffic / f.afterTraffic),
    '',
  );
  ratio(
    'q4 / fp32 model memory (RSS growth at load)',
    pairs.map(([f, q]) => (q.loaded - q.before) / (f.loaded - f.before)),
    '',
  );
  ratio(
    'q4: 8 streams / 1 stream',
    runs.q4.map((q) => q.eight / q.single),
    '',
  );
  ratio(
    'fp32: 8 streams / 1 stream',
    runs.fp32.map((f) => f.eight / f.single),
    '',
  );
}
