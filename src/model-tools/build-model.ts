import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { makeConfig, makeGenerationConfig } from './config-writer';
import { buildGpt2Graph } from './graph/gpt2';
import { buildLlamaGraph } from './graph/llama';
import { encodeModel } from './onnx/graph-builder';
import { type BuildModelOptions, type ModelSpec, onnxFileName, resolveSpec } from './spec';
import { makeTokenizer } from './tokenizer-writer';

export type { Architecture, BuildModelOptions, ModelSpec, VocabKind } from './spec';

/** Writes a file through a temporary name so a crash never leaves a half-written file behind. */
async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** The ONNX bytes for a resolved spec (exported for tests and tools that need only the graph). */
export function buildOnnx(spec: ModelSpec): Uint8Array {
  const g = spec.arch === 'gpt2' ? buildGpt2Graph(spec) : buildLlamaGraph(spec);
  return encodeModel(g.toModelProto(`${spec.arch} test model, seed ${spec.seed}`));
}

/**
 * Writes a small random-weight decoder in the Hugging Face / Optimum layout: config.json,
 * generation_config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json and
 * onnx/model.onnx (or onnx/decoder_model_merged.onnx). Same options → same bytes.
 * Returns the resolved spec.
 */
export async function buildModel(opts: BuildModelOptions): Promise<ModelSpec> {
  const chat = opts.chatTemplate ?? 'chatml';
  const maxPositions = opts.maxPositions ?? ((opts.arch ?? 'llama') === 'gpt2' ? 1024 : 2048);
  const tok = makeTokenizer(opts.vocab ?? 'byte', chat, maxPositions);
  const spec = resolveSpec(opts, tok.vocabSize);
  const dir = opts.outDir;
  // The model file goes last: a folder with model.onnx present is a complete one.
  await writeAtomic(join(dir, 'config.json'), json(makeConfig(spec, tok)));
  await writeAtomic(join(dir, 'generation_config.json'), json(makeGenerationConfig(tok)));
  await writeAtomic(join(dir, 'tokenizer.json'), JSON.stringify(tok.tokenizerJson));
  await writeAtomic(join(dir, 'tokenizer_config.json'), json(tok.tokenizerConfig));
  await writeAtomic(join(dir, 'special_tokens_map.json'), json(tok.specialTokensMap));
  await writeAtomic(join(dir, onnxFileName(spec)), buildOnnx(spec));
  return spec;
}
