export const ARCHITECTURES = ['gpt2', 'llama', 'qwen2', 'mistral', 'phi3'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];
export type VocabKind = 'gpt2' | 'byte';
export type ChatTemplateKind = 'chatml' | 'plain';

/** Options of `buildModel`; everything but `outDir` has a default. */
export interface BuildModelOptions {
  /** Folder to write (created if missing; files inside are overwritten). */
  outDir: string;
  /** Default `llama`. */
  arch?: Architecture;
  /** `byte` (259 tokens, tiny test models) or `gpt2` (the real 50,257-token BPE). Default `byte`. */
  vocab?: VocabKind;
  /** Default 2. */
  layers?: number;
  /** Default 64. */
  hidden?: number;
  /** Default 4. */
  heads?: number;
  /** Grouped-query kv heads; must divide `heads`. Default `heads` (gpt2 always uses `heads`). */
  kvHeads?: number;
  /** MLP width. Default 4×hidden for gpt2, else ≈ 8/3×hidden rounded up to a multiple of 8. */
  intermediate?: number;
  /** Default 1024 for gpt2, 2048 otherwise. */
  maxPositions?: number;
  /** Default 10000. */
  ropeTheta?: number;
  /** PRNG seed; same seed + options → same bytes. Default 1234. */
  seed?: number;
  /** Whether the graph takes `position_ids`. Without it positions come from cumsum(mask)-1. Default true. */
  positionIds?: boolean;
  /** Write `onnx/decoder_model_merged.onnx` (older exports' name) instead of `onnx/model.onnx`. */
  legacyName?: boolean;
  /** `chatml` adds <|im_start|>/<|im_end|> tokens; `plain` adds none ("role: text" lines). Default `chatml`. */
  chatTemplate?: ChatTemplateKind;
  /** Share the embedding with the output head. Default true for gpt2, false otherwise. */
  tieEmbeddings?: boolean;
  /** Weight spread: std = weightScale/√fan_in. Default 1.6 (varied greedy output, safe margins). */
  weightScale?: number;
  /**
   * Attention as one com.microsoft GroupQueryAttention op per layer (rotary inside, lengths from
   * the mask, no position_ids), as ONNX Runtime GenAI exports are. Not for gpt2. Default false.
   */
  groupQueryAttentionOp?: boolean;
}

/** Fully resolved sizes, shared by the graph builders, the config writer and the reference. */
export interface ModelSpec {
  arch: Architecture;
  vocab: VocabKind;
  vocabSize: number;
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  maxPositions: number;
  ropeTheta: number;
  normEps: number;
  seed: number;
  positionIds: boolean;
  legacyName: boolean;
  chatTemplate: ChatTemplateKind;
  tieEmbeddings: boolean;
  weightScale: number;
  /** q/k/v projections carry a bias (qwen2). */
  qkvBias: boolean;
  groupQueryAttentionOp: boolean;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer, got ${v}`);
  return v;
}

export function resolveSpec(opts: Omit<BuildModelOptions, 'outDir'>, vocabSize: number): ModelSpec {
  const arch = opts.arch ?? 'llama';
  if (!ARCHITECTURES.includes(arch)) throw new Error(`unknown arch "${arch}" (one of ${ARCHITECTURES.join(', ')})`);
  const hidden = positiveInt('hidden', opts.hidden ?? 64);
  const heads = positiveInt('heads', opts.heads ?? 4);
  const kvHeads = arch === 'gpt2' ? heads : positiveInt('kvHeads', opts.kvHeads ?? heads);
  if (hidden % heads !== 0) throw new Error(`hidden (${hidden}) must be a multiple of heads (${heads})`);
  if (heads % kvHeads !== 0) throw new Error(`heads (${heads}) must be a multiple of kvHeads (${kvHeads})`);
  const headDim = hidden / heads;
  if (arch !== 'gpt2' && headDim % 2 !== 0) throw new Error(`RoPE needs an even head size, got ${headDim}`);
  if (opts.groupQueryAttentionOp && arch === 'gpt2') throw new Error('groupQueryAttentionOp needs a llama-family arch');
  const defaultInter = arch === 'gpt2' ? 4 * hidden : Math.ceil((8 * hidden) / 3 / 8) * 8;
  return {
    arch,
    vocab: opts.vocab ?? 'byte',
    vocabSize,
    layers: positiveInt('layers', opts.layers ?? 2),
    hidden,
    heads,
    kvHeads,
    headDim,
    intermediate: positiveInt('intermediate', opts.intermediate ?? defaultInter),
    maxPositions: positiveInt('maxPositions', opts.maxPositions ?? (arch === 'gpt2' ? 1024 : 2048)),
    ropeTheta: opts.ropeTheta ?? 10000,
    normEps: arch === 'gpt2' ? 1e-5 : 1e-6,
    seed: opts.seed ?? 1234,
    positionIds: opts.groupQueryAttentionOp ? false : (opts.positionIds ?? true),
    legacyName: opts.legacyName ?? false,
    chatTemplate: opts.chatTemplate ?? 'chatml',
    tieEmbeddings: opts.tieEmbeddings ?? arch === 'gpt2',
    weightScale: opts.weightScale ?? 1.6,
    qkvBias: arch === 'qwen2',
    groupQueryAttentionOp: opts.groupQueryAttentionOp ?? false,
  };
}

export function onnxFileName(spec: Pick<ModelSpec, 'legacyName'>): string {
  return spec.legacyName ? 'onnx/decoder_model_merged.onnx' : 'onnx/model.onnx';
}
