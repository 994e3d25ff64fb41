import { resolve } from 'node:path';
import { BENCH_MODEL_SPEC, DEFAULT_MODEL_SPEC, LARGE_MODEL_SPEC } from '../default-model';
import { type Architecture, type BuildModelOptions, type ChatTemplateKind, type VocabKind } from '../spec';
import { UsageError, parseCli, toInt } from './args';

export const BUILD_USAGE = `usage: npm run model:build -- [--preset default|bench|large] [--arch gpt2|llama|qwen2|mistral|phi3]
  [--out models/tiny] [--layers N] [--hidden N] [--heads N] [--kv-heads N] [--intermediate N]
  [--vocab gpt2|byte] [--chat-template chatml|plain] [--seed N] [--no-position-ids] [--legacy-name] [--genai]
No options: the bundled default model into models/tiny. Options override the preset.
--genai: an ONNX Runtime GenAI folder (genai_config.json, model.onnx with GroupQueryAttention;
llama-family only, head size a multiple of 16). Other variants: npm run model:quantize.`;

export type BuildCliOptions = BuildModelOptions & { genai?: boolean };

/** Command line → buildModel options (null for --help). */
export function buildOptionsFromArgs(argv: string[]): BuildCliOptions | null {
  const { values: v, positionals } = parseCli(
    {
      preset: { type: 'string' },
      arch: { type: 'string' },
      out: { type: 'string' },
      layers: { type: 'string' },
      hidden: { type: 'string' },
      heads: { type: 'string' },
      'kv-heads': { type: 'string' },
      intermediate: { type: 'string' },
      vocab: { type: 'string' },
      'chat-template': { type: 'string' },
      seed: { type: 'string' },
      'no-position-ids': { type: 'boolean' },
      'legacy-name': { type: 'boolean' },
      genai: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    argv,
  );
  if (v.help) return null;
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const presets = { default: DEFAULT_MODEL_SPEC, bench: BENCH_MODEL_SPEC, large: LARGE_MODEL_SPEC };
  const preset = presets[(v.preset ?? 'default') as keyof typeof presets];
  if (!preset) throw new UsageError(`unknown preset "${v.preset}" (default, bench or large)`);
  if (v.vocab && !['gpt2', 'byte'].includes(v.vocab)) throw new UsageError('--vocab must be gpt2 or byte');
  if (v['chat-template'] && !['chatml', 'plain'].includes(v['chat-template']))
    throw new UsageError('--chat-template must be chatml or plain');
  // Another architecture than the preset's starts from that architecture's own size defaults.
  const base = v.arch && v.arch !== preset.arch ? { vocab: preset.vocab, seed: preset.seed } : preset;
  const opts: BuildCliOptions = {
    ...base,
    outDir: resolve(v.out ?? 'models/tiny'),
    ...(v.arch && { arch: v.arch as Architecture }),
    ...(v.vocab && { vocab: v.vocab as VocabKind }),
    ...(v['chat-template'] && { chatTemplate: v['chat-template'] as ChatTemplateKind }),
  };
  const ints = {
    layers: 'layers',
    hidden: 'hidden',
    heads: 'heads',
    kvHeads: 'kv-heads',
    intermediate: 'intermediate',
    seed: 'seed',
  } as const;
  for (const [key, flag] of Object.entries(ints)) {
    const n = toInt(flag, v[flag]);
    if (n !== undefined) opts[key as keyof typeof ints] = n;
  }
  if (v['no-position-ids']) opts.positionIds = false;
  if (v['legacy-name']) opts.legacyName = true;
  if (v.genai) opts.genai = true;
  return opts;
}
