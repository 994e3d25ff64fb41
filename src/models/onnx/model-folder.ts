import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ModelLoadError } from './errors';
import { parseGenAiConfig, type GenAiModel } from './genai-config';

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

/** Which graph of a folder to load: a dtype (transformers.js naming) or an explicit file. */
export interface GraphSelection {
  /** fp32 | fp16 | q8 (= quantized) | int8 | uint8 | q4 | q4f16. Default fp32. */
  dtype?: string;
  /** A graph file relative to the folder (or to its onnx/ folder); wins over dtype. */
  file?: string;
}

export interface ModelFolder {
  dir: string;
  onnxFile: string;
  /** Weights stored beside the graph (models over 2 GB, or split exports). */
  hasExternalData: boolean;
  /** `<graph>.onnx_data`, `<graph>.onnx_data_1`..., or GenAI's `<graph>.onnx.data`. */
  dataFiles: string[];
  configFile: string;
  config: Record<string, unknown>;
  generationConfig?: Record<string, unknown>;
  tokenizerJson: object;
  tokenizerConfig: Record<string, unknown>;
  /** `chat_template.jinja`, which newer exports ship instead of a JSON field. */
  chatTemplate?: string;
  /** Set for ONNX Runtime GenAI folders (`genai_config.json`): sizes, EOS ids and tensor names. */
  genai?: GenAiModel;
  /** Short hash of file sizes, mtimes and configs: changes whenever the model does. */
  version: string;
}

export function readModelFolder(path: string, select: string | GraphSelection = 'fp32'): ModelFolder {
  const dir = resolve(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ModelLoadError(dir, 'model folder does not exist');
  const { dtype = 'fp32', file } = typeof select === 'string' ? { dtype: select } : select;
  const suffix = VARIANT_SUFFIXES[dtype];
  if (suffix === undefined) {
    throw new ModelLoadError(dir, `unknown dtype "${dtype}" (known: ${Object.keys(VARIANT_SUFFIXES).join(', ')})`);
  }
  const genaiFile = join(dir, GENAI_CONFIG);
  const genai = existsSync(genaiFile) ? parseGenAiConfig(readJson(genaiFile), genaiFile) : undefined;
  const onnxFile = file
    ? explicitGraph(dir, file)
    : genai
      ? genaiGraph(dir, genai.filename)
      : findGraph(dir, suffix, dtype);
  const configFile = genai ? genaiFile : join(dir, 'config.json');
  const config = genai ? (readOptionalJson(join(dir, 'config.json')) ?? {}) : readJson(configFile);
  const generationConfig = readOptionalJson(join(dir, 'generation_config.json'));
  const tokenizerJson = readJson(join(dir, 'tokenizer.json'));
  const tokenizerConfig = readJson(join(dir, 'tokenizer_config.json'));
  const templateFile = join(dir, 'chat_template.jinja');
  const chatTemplate = existsSync(templateFile) ? readFileSync(templateFile, 'utf8') : undefined;
  const dataFiles = externalDataFiles(onnxFile);

  const hash = createHash('sha256');
  for (const f of [onnxFile, ...dataFiles, join(dir, 'tokenizer.json')]) {
    if (existsSync(f)) {
      const st = statSync(f);
      hash.update(`${f}:${st.size}:${st.mtimeMs}\n`);
    }
  }
  hash.update(JSON.stringify([config, generationConfig, tokenizerConfig, chatTemplate, genai]));
  return {
    dir,
    onnxFile,
    hasExternalData: dataFiles.length > 0,
    dataFiles,
    configFile,
    config,
    generationConfig,
    tokenizerJson,
    tokenizerConfig,
    chatTemplate,
    genai,
    version: hash.digest('hex').slice(0, 12),
  };
}

export const GENAI_CONFIG = 'genai_config.json';

/** External weight files next to a graph, in chunk order. */
export function externalDataFiles(onnxFile: string): string[] {
  const folder = dirname(onnxFile);
  const base = basename(onnxFile);
  const chunk = (f: string) => Number(/_(\d+)$/.exec(f)?.[1] ?? 0);
  const isData = (f: string) =>
    f === `${base}.data` || (/^_data(_\d+)?$/.test(f.slice(base.length)) && f.startsWith(base));
  return readdirSync(folder)
    .filter(isData)
    .sort((a, b) => chunk(a) - chunk(b))
    .map((f) => join(folder, f));
}

function explicitGraph(dir: string, file: string): string {
  for (const candidate of [join(dir, file), join(dir, 'onnx', file)]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  throw new ModelLoadError(join(dir, file), `not found (graphs present: ${presentGraphs(dir).join(', ') || 'none'})`);
}

function genaiGraph(dir: string, filename: string): string {
  const file = join(dir, filename);
  if (!existsSync(file)) {
    throw new ModelLoadError(
      file,
      `named by ${GENAI_CONFIG} but not found (graphs present: ${presentGraphs(dir).join(', ') || 'none'})`,
    );
  }
  return file;
}

function findGraph(dir: string, suffix: string, dtype: string): string {
  const onnxDir = join(dir, 'onnx');
  for (const base of GRAPH_BASE_NAMES) {
    const file = join(onnxDir, `${base}${suffix}.onnx`);
    if (existsSync(file)) return file;
  }
  const present = presentGraphs(dir);
  const wanted = GRAPH_BASE_NAMES.map((b) => `onnx/${b}${suffix}.onnx`).join(' or ');
  throw new ModelLoadError(
    join(onnxDir, `model${suffix}.onnx`),
    `not found: dtype ${dtype} expects ${wanted}` +
      (present.length ? ` (present: ${present.join(', ')})` : ' (no .onnx files in the folder)'),
  );
}

/** The graphs of a folder with the dtype each name stands for, for error messages. */
export function presentGraphs(dir: string): string[] {
  const found: string[] = [];
  for (const sub of ['onnx', '.']) {
    const folder = join(dir, sub);
    if (!existsSync(folder) || !statSync(folder).isDirectory()) continue;
    for (const f of readdirSync(folder)
      .filter((n) => n.endsWith('.onnx'))
      .sort()) {
      const name = sub === '.' ? f : `onnx/${f}`;
      const dtype = dtypeOfFile(f);
      found.push(dtype ? `${name} (${dtype})` : name);
    }
  }
  return found;
}

/** The dtype a transformers.js-style file name stands for, or null for other names. */
export function dtypeOfFile(file: string): string | null {
  const m = /^(?:model|decoder_model_merged)(_[a-z0-9]+)?\.onnx$/.exec(basename(file));
  if (!m) return null;
  const suffix = m[1] ?? '';
  return Object.entries(VARIANT_SUFFIXES).find(([, s]) => s === suffix)?.[0] ?? null;
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
