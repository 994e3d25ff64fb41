/**
 * Engine benchmark: this engine against the bare `session.run` floor and transformers.js, on the
 * bench model and the bundled default, measured side by side in interleaved rounds (the machine
 * is shared: only ratios taken within one run mean anything).
 *
 *   npm run bench:engine -- [--rounds 5] [--tokens 64] [--threads 2] [--models bench,default]
 *                           [--dir <cache folder for the generated models>]
 * `--models large`: fp32 against 4-bit on a 114M-parameter model, memory included (variants.ts).
 * `--models structured`: constrained decoding and `n` on a 150k-vocabulary model (structured.ts).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_MODEL_SPEC, DEFAULT_MODEL_SPEC, ensureDefaultModel } from '../../src/model-tools/default-model';
import { BareLoop, Engine, tokenizerFor, TransformersJs } from './contenders';
import { report, type Samples } from './report';
import { benchStructured } from './structured';
import { benchVariants } from './variants';

// No onnxruntime telemetry (and no /tmp/mat-debug-<pid>.log) for the bare-loop sessions either.
process.env.ORT_DISABLE_TELEMETRY ??= '1';
const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const rounds = Number(args.get('rounds') ?? 5);
const tokens = Number(args.get('tokens') ?? 64);
const threads = Number(args.get('threads') ?? 2);
const root = args.get('dir') ?? join(tmpdir(), 'llm-server-bench-models');
const presets = { bench: BENCH_MODEL_SPEC, default: DEFAULT_MODEL_SPEC };
const which = (args.get('models') ?? 'bench,default').split(',') as Array<keyof typeof presets>;

const PROMPT = 'The history of the city begins with a small settlement on the river, where';
const PROMPTS8 = [
  'Once upon a time',
  'The quick brown fox jumps over the lazy dog and then',
  'In 1887 the engineers of the railway company decided',
  'Write a short poem about the sea:',
  'Q: What is the capital of France?\nA:',
  PROMPT,
  'def fibonacci(n):',
  'Dear customer, thank you for your message. Regarding your order of last week, we',
];

async function benchModel(name: keyof typeof presets): Promise<void> {
  const dir = join(root, name);
  if (await ensureDefaultModel(dir, presets[name])) console.log(`built ${name} model in ${dir}`);
  const promptIds = tokenizerFor(dir).encodePrompt(PROMPT);
  const bare = await BareLoop.open(dir, threads);
  const bareNoSpin = await BareLoop.open(dir, threads, false);
  const engine = await Engine.open(dir, threads);
  const engineSpin = await Engine.open(dir, threads, true);
  const tfjs = await TransformersJs.open(dir, threads);

  const s: Samples = { bare: [], bareNoSpin: [], engine: [], engineSpin: [], tfjs: [], eight: [] };
  // Round 0 is a warm-up (lazy allocations, JIT) and is not kept.
  for (let r = 0; r <= rounds; r++) {
    const n = r === 0 ? 8 : tokens;
    const round = {
      bare: await bare.measure(promptIds, n),
      bareNoSpin: await bareNoSpin.measure(promptIds, n),
      engine: await engine.single(PROMPT, n),
      engineSpin: await engineSpin.single(PROMPT, n),
      tfjs: await tfjs.single(promptIds, n),
      eight: await engine.concurrent(PROMPTS8, n),
    };
    if (r === 0) continue;
    for (const key of Object.keys(round) as Array<keyof Samples>) (s[key] as unknown[]).push(round[key]);
    process.stdout.write(`  ${name} round ${r}/${rounds}\r`);
  }
  await Promise.all([bare.close(), bareNoSpin.close(), engine.close(), engineSpin.close(), tfjs.close()]);
  report(name, engine.provider.device, threads, tokens, s);
}

(async () => {
  for (const name of which as string[]) {
    if (name === 'large') {
      await benchVariants(root, rounds, tokens, threads);
      continue;
    }
    if (name === 'structured') {
      await benchStructured(root, rounds, tokens, threads);
      continue;
    }
    if (!(name in presets)) throw new Error(`unknown model "${name}" (bench, default, large, structured)`);
    await benchModel(name as keyof typeof presets);
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
