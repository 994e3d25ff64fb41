import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ModelLoadError } from './errors';

/** `variant` option → file-name suffix, as transformers.js names ONNX exports. */
export const VARIANT_SUFFIXES: Record<string, string> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  quantized: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
};

/** Base names tried in order: current Optimum exports, then the older merged-decoder name. */
const GRAPH_BASE_NAMES = ['model', 'decoder_model_merged'];

export interface ModelFolder {
  dir: string;
  onnxFile: string;
  /** Weights stored beside the graph (models over 2 GB). */
  hasExternalData: boolean;
  configFile: string;
  config: Record<string, unknown>;
  generationConfig?: Record<string, unknown>;
  tokenizerJson: object;
  tokenizerConfig: Record<string, unknown>;
  /** `chat_template.jinja`, which newer exports ship instead of a JSON field. */
  chatTemplate?: string;
  /** Short hash of file sizes, mtimes and configs: changes whenever the model does. */
  version: string;
}

export function readModelFolder(path: string, variant = 'fp32'): ModelFolder {
  const dir = resolve(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ModelLoadError(dir, 'model folder does not exist');
  const suffix = VARIANT_SUFFIXES[variant];
  if (suffix === undefined) {
    throw new ModelLoadError(dir, `unknown variant "${variant}" (known: ${Object.keys(VARIANT_SUFFIXES).join(', ')})`);
  }
  const onnxFile = findGraph(dir, suffix);
  const configFile = join(dir, 'config.json');
  const config = readJson(configFile);
  const generationConfig = readOptionalJson(join(dir, 'generation_config.json'));
  const tokenizerJson = readJson(join(dir, 'tokenizer.json'));
  const tokenizerConfig = readJson(join(dir, 'tokenizer_config.json'));
  const templateFile = join(dir, 'chat_template.jinja');
  const chatTemplate = existsSync(templateFile) ? readFileSync(templateFile, 'utf8') : undefined;
  const hasExternalData = existsSync(`${onnxFile}_data`) || existsSync(`${onnxFile}.data`);

  const hash = createHash('sha256');
  for (const file of [onnxFile, `${onnxFile}_data`, join(dir, 'tokenizer.json')]) {
    if (existsSync(file)) {
      const st = statSync(file);
      hash.update(`${file}:${st.size}:${st.mtimeMs}\n`);
    }
  }
  hash.update(JSON.stringify([config, generationConfig, tokenizerConfig, chatTemplate]));
  return {
    dir,
    onnxFile,
    hasExternalData,
    configFile,
    config,
    generationConfig,
    tokenizerJson,
    tokenizerConfig,
    chatTemplate,
    version: hash.digest('hex').slice(0, 12),
  };
}

function findGraph(dir: string, suffix: string): string {
  const onnxDir = join(dir, 'onnx');
  for (const base of GRAPH_BASE_NAMES) {
    const file = join(onnxDir, `${base}${suffix}.onnx`);
    if (existsSync(file)) return file;
  }
  const present = existsSync(onnxDir) ? readdirSync(onnxDir).filter((f) => f.endsWith('.onnx')) : [];
  const wanted = GRAPH_BASE_NAMES.map((b) => `onnx/${b}${suffix}.onnx`).join(' or ');
  throw new ModelLoadError(
    join(onnxDir, `model${suffix}.onnx`),
    `not found: expected ${wanted}` + (present.length ? ` (present: ${present.join(', ')})` : ''),
  );
}

function readOptionalJson(file: string): Record<string, unknown> | undefined {
  return existsSync(file) ? readJson(file) : undefined;
}

function readJson(file: string): Record<string, unknown> {
  if (!existsSync(file)) throw new ModelLoadError(file, 'required file is missing');
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ModelLoadError(file, `invalid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ModelLoadError(file, 'must contain a JSON object');
  }
  return parsed as Record<string, unknown>;
}
