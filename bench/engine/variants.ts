/**
 * fp32 against 4-bit (MatMulNBits, block 32 and block 128) on a model large enough to be
 * memory-bound (≥ 100M parameters): decode tokens/s and resident memory, each measurement in its
 * own process running compiled JavaScript (as `npm start` does), the variants in turn round by
 * round; then how far each 4-bit variant's logits are from fp32's.
 *   npm run bench:engine -- --models large [--rounds 3] [--tokens 64] [--threads 2]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ensureDefaultModel, LARGE_MODEL_SPEC } from '../../src/model-tools/default-model';
import { argmax, OrtDecoder } from '../../src/model-tools/ort-decoder';
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

interface Variant {
  label: string;
  dtype: string;
  /** Graph file in onnx/, written on first use. */
  file: string;
  blockSize?: number;
}

const VARIANTS: Variant[] = [
  { label: 'fp32', dtype: 'fp32', file: 'model.onnx' },
  { label: 'q4 block 32', dtype: 'q4', file: 'model_q4.onnx', blockSize: 32 },
  { label: 'q4 block 128', dtype: 'q4', file: 'model_q4_block128.onnx', blockSize: 128 },
];

const MB = 1024 * 1024;
const ROOT = resolve(__dirname, '../..');

/**
 * Compiles the child and the engine modules it imports with tsc (the project's compiler options)
 * into dist/bench-engine-child/, beside the server's own dist/src.
 */
function compileChild(): string {
  const out = join(ROOT, 'dist', 'bench-engine-child');
  mkdirSync(out, { recursive: true });
  const tsconfig = {
    extends: '../../tsconfig.json',
    compilerOptions: { outDir: '.', rootDir: '../..', incremental: false, sourceMap: false },
    files: ['../../bench/engine/variant-child.ts'],
    include: [],
  };
  writeFileSync(join(out, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(out, 'tsconfig.json')], {
    stdio: 'inherit',
  });
  return join(out, 'bench', 'engine', 'variant-child.js');
}

const ACCURACY_PROMPTS = [
  'Once upon a time',
  'The history of the city begins with a small settlement on the river, where',
  'def fibonacci(n):',
  'Q: What is the capital of France?\nA:',
];

/**
 * Teacher-forced on fp32's own greedy continuation (32 tokens per prompt), one pass per prompt
 * and model: at each position, whether the 4-bit model's top token is fp32's, the KL divergence
 * of its next-token distribution from fp32's, and the RMS logit error relative to the RMS logit.
 */
async function accuracy(dir: string, threads: number): Promise<void> {
  const tok = new Tokenizer(
    JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as object,
    JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as object,
  );
  const logitsOf = async (file: string, seqs: number[][]) => {
    const dec = await OrtDecoder.load(join(dir, 'onnx', file), threads);
    try {
      const out: { logits: Float32Array; vocab: number }[] = [];
      for (const ids of seqs) {
        const r = await dec.forward([ids], [ids.map(() => 1)]);
        out.push({ logits: r.logits.slice(), vocab: r.dims[2] }); // a copy: the session owns its outputs until released
      }
      return out;
    } finally {
      await dec.release();
    }
  };
  const fp32 = await OrtDecoder.load(join(dir, 'onnx', 'model.onnx'), threads);
  const seqs: { ids: number[]; from: number }[] = [];
  try {
    for (const p of ACCURACY_PROMPTS) {
      const ids = tok.encode(p, { add_special_tokens: false }).ids;
      seqs.push({ ids: [...ids, ...(await fp32.greedy(ids, 32))], from: ids.length - 1 });
    }
  } finally {
    await fp32.release();
  }
  const ref = await logitsOf(
    'model.onnx',
    seqs.map((s) => s.ids),
  );
  console.log(
    `\n== 4-bit against fp32, teacher-forced on fp32's greedy text (${ACCURACY_PROMPTS.length} prompts × 32 tokens)`,
  );
  for (const v of VARIANTS.slice(1)) {
    const got = await logitsOf(
      v.file,
      seqs.map((s) => s.ids),
    );
    let same = 0;
    let n = 0;
    let kl = 0;
    let err2 = 0;
    let ref2 = 0;
    seqs.forEach((s, i) => {
      const V = ref[i].vocab;
      for (let pos = s.from; pos < s.ids.length - 1; pos++) {
        const a = ref[i].logits.subarray(pos * V, (pos + 1) * V);
        const b = got[i].logits.subarray(pos * V, (pos + 1) * V);
        if (argmax(a, 0, V) === argmax(b, 0, V)) same++;
        kl += klDivergence(a, b);
        for (let j = 0; j < V; j++) {
          err2 += (a[j] - b[j]) ** 2;
          ref2 += a[j] ** 2;
        }
        n++;
      }
    });
    console.log(
      `${v.label.padEnd(14)} top-1 same as fp32 ${fmt((100 * same) / n, 1)}%, mean KL ${(kl / n).toExponential(2)} nats, ` +
        `RMS logit error ${fmt(100 * Math.sqrt(err2 / ref2), 2)}% of RMS logit (${n} positions)`,
    );
  }
}

/** KL(softmax(a) ‖ softmax(b)) in nats. */
function klDivergence(a: Float32Array, b: Float32Array): number {
  const logSumExp = (x: Float32Array) => {
    let m = -Infinity;
    for (const v of x) m = Math.max(m, v);
    let s = 0;
    for (const v of x) s += Math.exp(v - m);
    return m + Math.log(s);
  };
  const la = logSumExp(a);
  const lb = logSumExp(b);
  let kl = 0;
  for (let j = 0; j < a.length; j++) {
    const lpa = a[j] - la;
    kl += Math.exp(lpa) * (lpa - (b[j] - lb));
  }
  return kl;
}

export async function benchVariants(root: string, rounds: number, tokens: number, threads: number): Promise<void> {
  const dir = join(root, 'large');
  if (await ensureDefaultModel(dir, LARGE_MODEL_SPEC)) console.log(`built large model in ${dir}`);
  for (const v of VARIANTS) {
    if (v.blockSize === undefined || existsSync(join(dir, 'onnx', v.file))) continue;
    const r = await writeVariant(dir, { dtype: 'q4', blockSize: v.blockSize, accuracyLevel: 4, fileName: v.file });
    console.log(`wrote ${r.output}: ${r.detail}`);
  }
  const child = compileChild();
  const runs = new Map<Variant, ChildResult[]>(VARIANTS.map((v) => [v, []]));
  for (let r = 0; r < rounds; r++) {
    // Each variant goes first in turn: machine load drifts during a round.
    const order = VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length]);
    for (const v of order) {
      const out = execFileSync(
        process.execPath,
        ['--expose-gc', child, dir, v.dtype, String(threads), String(tokens), join('onnx', v.file)],
        { encoding: 'utf8', maxBuffer: 1 << 20 },
      );
      runs.get(v)?.push(JSON.parse(out.trim().split('\n').pop() ?? '{}') as ChildResult);
      process.stdout.write(`  large round ${r + 1}/${rounds} ${v.label}      \r`);
    }
  }
  const row = (xs: ChildResult[]) => ({
    'decode tok/s 1 stream (median)': fmt(median(xs.map((x) => x.single)), 1),
    'aggregate tok/s 8 streams': fmt(median(xs.map((x) => x.eight)), 1),
    'RSS before MB': fmt(median(xs.map((x) => x.before / MB))),
    'RSS loaded MB': fmt(median(xs.map((x) => x.loaded / MB))),
    'model MB (RSS loaded - before)': fmt(median(xs.map((x) => (x.loaded - x.before) / MB))),
    'RSS after traffic MB': fmt(median(xs.map((x) => x.afterTraffic / MB))),
    'per extra sequence MB (8 streams)': fmt(median(xs.map((x) => (x.peak8 - x.afterSingle) / 7 / MB)), 1),
  });
  console.log(
    `\n== large model (114M parameters): fp32 vs q4, ${threads} threads, ${tokens} new tokens, ${rounds} rounds (one compiled process each)`,
  );
  console.table(Object.fromEntries(VARIANTS.map((v) => [v.label, row(runs.get(v) ?? [])])));
  const ratio = (label: string, xs: number[], target: string) =>
    console.log(
      `${label.padEnd(56)} ${fmt(median(xs), 2)}  (rounds: ${xs.map((x) => fmt(x, 2)).join(' ')})  ${target}`,
    );
  const fp32 = runs.get(VARIANTS[0]) ?? [];
  for (const v of VARIANTS.slice(1)) {
    const q4 = runs.get(v) ?? [];
    const pairs = fp32.map((f, i) => [f, q4[i]] as const);
    ratio(
      `${v.label} / fp32 decode tok/s, 1 stream`,
      pairs.map(([f, q]) => q.single / f.single),
      'target >= 1.8',
    );
    ratio(
      `${v.label} / fp32 resident memory when loaded`,
      pairs.map(([f, q]) => q.loaded / f.loaded),
      'target <= 0.35',
    );
    ratio(
      `${v.label} / fp32 resident memory after traffic`,
      pairs.map(([f, q]) => q.afterTraffic / f.afterTraffic),
      '',
    );
    ratio(
      `${v.label} / fp32 model memory (RSS growth at load)`,
      pairs.map(([f, q]) => (q.loaded - q.before) / (f.loaded - f.before)),
      '',
    );
  }
  for (const v of VARIANTS) {
    ratio(
      `${v.label}: 8 streams / 1 stream`,
      (runs.get(v) ?? []).map((x) => x.eight / x.single),
      '',
    );
  }
  await accuracy(dir, threads);
}
