/**
 * Loading a generation model: the folder read and checked, the tokenizer and chat template, the
 * onnxruntime session (graph edits, device fallback) and the batch scheduler, with one log line
 * saying what was loaded and how it will decode.
 */
import { BatchScheduler } from './batch-scheduler';
import { ModelLoadError } from './errors';
import type { EngineHooks } from './hooks';
import { parseModelConfig, withGenerationEos, type ModelConfig } from './model-config';
import { readModelFolder } from './model-folder';
import { ModelRunner } from './model-runner';
import type { Device, EngineLogger } from './session';
import { ModelTokenizer } from './tokenizer';
import type { ToolParserName } from './tools/tool-call-formats';

export interface OnnxProviderOptions {
  /** Model id, used in messages. */
  id: string;
  /** The model folder (config.json, tokenizer files, onnx/). */
  path: string;
  /** Requested execution provider; unavailable ones fall back to cpu. Default cpu. */
  device?: Device;
  /** Which graph file: fp32 (model.onnx), q8/quantized, fp16, int8, uint8, q4, q4f16. Default fp32. */
  dtype?: string;
  /** Older name of `dtype`. */
  variant?: string;
  /** An explicit graph file (relative to the folder or its onnx/ folder); wins over dtype. */
  file?: string;
  /** Sequences decoded together. Default 8. */
  maxBatchSize?: number;
  /** Requests that may wait for a slot before model_unavailable. Default 32. */
  maxQueue?: number;
  /** onnxruntime intra-op threads. Default: onnxruntime's choice (all cores). */
  threads?: number;
  /**
   * Let idle onnxruntime threads spin-wait between ops. Default false (onnxruntime's own default
   * is true): on a small shared box spinning threads take the CPU the event loop, the database
   * and other models need; measured on 2 busy cores, spinning off was mostly faster (up to 2×)
   * and always cheaper in CPU per token. On a dedicated idle machine, true may win latency.
   */
  spinWait?: boolean;
  logger?: EngineLogger;
  hooks?: EngineHooks;
  /** Load-time graph edit (last-position logits, argmax output). Default true. */
  optimizeGraph?: boolean;
  /** Retry-After seconds on model_unavailable. Default 1. */
  retryAfterSeconds?: number;
  /** How the model writes tool calls; default: detected from its chat template. */
  toolParser?: ToolParserName;
}

export interface LoadedModel {
  runner: ModelRunner;
  tokenizer: ModelTokenizer;
  config: ModelConfig;
  scheduler: BatchScheduler;
  version: string;
}

/** Throws ModelLoadError naming the file at fault. */
export async function loadModel(opts: OnnxProviderOptions): Promise<LoadedModel> {
  const folder = readModelFolder(opts.path, { dtype: opts.dtype ?? opts.variant ?? 'fp32', file: opts.file });
  const config = folder.genai
    ? withGenerationEos(folder.genai.config, folder.generationConfig)
    : parseModelConfig(folder.config, folder.generationConfig, folder.configFile);
  let tokenizer: ModelTokenizer;
  try {
    tokenizer = new ModelTokenizer(folder.tokenizerJson, folder.tokenizerConfig, folder.chatTemplate);
  } catch (err) {
    throw new ModelLoadError(
      `${folder.dir}/tokenizer.json`,
      `tokenizer or chat template rejected: ${(err as Error).message}`,
    );
  }
  if (config.eosIds.length === 0) {
    const eos = tokenizer.specialTokens.eos_token;
    const id = eos === undefined ? undefined : tokenizer.tokenId(eos);
    if (id !== undefined) config.eosIds.push(id);
  }
  const runner = await ModelRunner.load(folder, config, {
    device: opts.device ?? 'cpu',
    threads: opts.threads,
    spinWait: opts.spinWait ?? false,
    logger: opts.logger,
    optimizeGraph: opts.optimizeGraph,
  });
  const scheduler = new BatchScheduler(runner, {
    modelId: opts.id,
    maxBatchSize: Math.max(1, opts.maxBatchSize ?? 8),
    maxQueue: Math.max(0, opts.maxQueue ?? 32),
    retryAfterSeconds: opts.retryAfterSeconds ?? 1,
  });
  if (opts.hooks) scheduler.hooks = opts.hooks;
  const notes = [
    runner.graphChanges.length ? `graph edits: ${runner.graphChanges.join(', ')}` : '',
    runner.io.positionIdsType ? '' : 'no position_ids input: sequences decode unbatched',
    runner.rowsInteract ? 'dynamic per-tensor quantization: sequences decode unbatched' : '',
    runner.noPadding ? 'GroupQueryAttention (no left padding): sequences decode unbatched' : '',
  ].filter(Boolean);
  opts.logger?.log?.(
    `model "${opts.id}" loaded: ${config.modelType}, ${folder.onnxFile}, device ${runner.device}` +
      (notes.length ? `; ${notes.join('; ')}` : ''),
  );
  return { runner, tokenizer, config, scheduler, version: folder.version };
}
