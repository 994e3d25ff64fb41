import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { core } from 'zod';
import { ApiError } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-code';
import type { ParamsMode } from '../wire-params';
import { crossCheck, type ConfigIssue } from './models-config.cross-check';
import { HTTP_FIELDS, ONNX_FIELDS, modelsFileSchema, type RawModel } from './models-config.schema';

/** models.yaml, validated and normalised (camelCase, defaults filled, paths absolute). */
export interface ModelsConfig {
  /** The file it came from (as given), for messages. */
  file: string;
  defaultModel: string;
  models: ModelConfig[];
}

export type ModelConfig = OnnxModelConfig | HttpModelConfig;

interface CommonModelConfig {
  id: string;
  aliases: string[];
  fallbacks: string[];
  /** Seconds. */
  cacheTtl?: number;
  contextLength?: number;
  /** models.yaml `params` (default forward) and `drop_params` (docs/api.md, wire fidelity). */
  params?: ParamsMode;
  dropParams?: string[];
  /** models.yaml `task`: `embeddings` models serve /v1/embeddings only; unset = `chat`. */
  task?: 'chat' | 'embeddings';
  /** models.yaml `default_max_tokens`: the cap when a request names none (default 512). */
  defaultMaxTokens?: number;
}

export interface OnnxModelConfig extends CommonModelConfig {
  provider: 'onnx';
  /** Absolute (relative paths in the file resolve against the file's folder). */
  path: string;
  /** `mps` is normalised to `coreml`. Undefined → the server's MODEL_DEVICE. */
  device?: 'cpu' | 'coreml' | 'cuda';
  /** models.yaml `dtype` (or its older name `variant`). */
  dtype?: string;
  file?: string;
  maxBatchSize?: number;
  maxQueue?: number;
  threads?: number;
  /** models.yaml `tool_parser`; undefined: detected from the chat template. */
  toolParser?: 'hermes' | 'llama3_json' | 'mistral';
  /** Encoder settings (task: embeddings), docs/embeddings.md. */
  pooling?: 'mean' | 'cls' | 'last';
  normalize?: boolean;
  queryPrefix?: string;
  documentPrefix?: string;
  matryoshkaDimensions?: number[];
  maxBatchTokens?: number;
}

export interface HttpModelConfig extends CommonModelConfig {
  provider: 'http';
  /** `${VAR}` / `${VAR:-default}` already substituted. */
  baseUrl: string;
  upstreamModel?: string;
  apiKeyEnv?: string;
  timeoutMs: number;
  maxRetries: number;
  extendedSampling: boolean;
  circuitBreaker?: { failureThreshold?: number; cooldownMs?: number };
  /** `responses`: /v1/responses requests go to the upstream's /responses whole; unset = `chat`. */
  api?: 'chat' | 'responses';
  /** models.yaml `max_tokens_field`: where a cap the gateway adds goes (default max_tokens). */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
}

export const HTTP_DEFAULTS = { timeoutMs: 60_000, maxRetries: 2 } as const;

export type { ConfigIssue } from './models-config.cross-check';

/** A refused models.yaml; an ApiError so a reload endpoint can answer 400 with it as is. */
export class ModelsConfigError extends ApiError {
  constructor(
    readonly file: string,
    readonly issues: ConfigIssue[],
  ) {
    super(ErrorCode.InvalidRequest, issues.map((i) => formatIssue(file, i)).join('\n'));
    this.name = 'ModelsConfigError';
  }
}

export function formatIssue(file: string, issue: ConfigIssue): string {
  const model = issue.model !== undefined ? ` model "${issue.model}":` : '';
  const field = issue.field !== undefined ? ` field "${issue.field}":` : '';
  return `${file}:${model}${field} ${issue.message}`;
}

export interface LoadOptions {
  /** For `${VAR}` in base_url; the caller passes its validated environment. */
  env?: Record<string, string | undefined>;
}

export async function loadModelsConfig(file: string, opts: LoadOptions = {}): Promise<ModelsConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ModelsConfigError(file, [
      { message: `cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` },
    ]);
  }
  return parseModelsConfig(text, file, opts);
}

/**
 * True for a models file that deliberately lists none (`models: []` and nothing else): the
 * server then starts serving no models, as with no file, but without the warning. The loader
 * itself still refuses an empty list (a reload to it would leave nothing to serve).
 */
export async function declaresNoModels(file: string): Promise<boolean> {
  let raw: unknown;
  try {
    const doc = parseDocument(await readFile(file, 'utf8'));
    if (doc.errors.length > 0) return false;
    raw = doc.toJS();
  } catch {
    return false;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return false;
  const keys = Object.keys(raw);
  const models = (raw as { models?: unknown }).models;
  return keys.length === 1 && Array.isArray(models) && models.length === 0;
}

/** Parses and validates the text of a models.yaml; `file` names it in errors and anchors paths. */
export function parseModelsConfig(text: string, file: string, opts: LoadOptions = {}): ModelsConfig {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e.linePos?.[0].line;
    throw new ModelsConfigError(file, [
      { message: `is not valid YAML${line ? ` (line ${line})` : ''}: ${e.message.split('\n')[0]}` },
    ]);
  }
  const raw = doc.toJS() as unknown;
  const issues: ConfigIssue[] = [];
  interpolateEnv(raw, opts.env ?? {}, issues);
  const parsed = modelsFileSchema.safeParse(raw);
  if (!parsed.success) {
    issues.push(...parsed.error.issues.flatMap((i) => toIssues(i, raw)));
    throw new ModelsConfigError(file, issues);
  }
  if (issues.length > 0) throw new ModelsConfigError(file, issues);
  issues.push(...crossCheck(parsed.data.default_model, parsed.data.models));
  if (issues.length > 0) throw new ModelsConfigError(file, issues);
  const folder = dirname(resolve(file));
  return { file, defaultModel: parsed.data.default_model, models: parsed.data.models.map((m) => normalise(m, folder)) };
}

function normalise(m: RawModel, folder: string): ModelConfig {
  const common: CommonModelConfig = {
    id: m.id,
    aliases: m.aliases ?? [],
    fallbacks: m.fallbacks ?? [],
    ...(m.cache_ttl !== undefined && { cacheTtl: m.cache_ttl }),
    ...(m.context_length !== undefined && { contextLength: m.context_length }),
    ...(m.params !== undefined && { params: m.params }),
    ...(m.drop_params !== undefined && { dropParams: m.drop_params }),
    ...(m.task !== undefined && { task: m.task }),
    ...(m.default_max_tokens !== undefined && { defaultMaxTokens: m.default_max_tokens }),
  };
  if (m.provider === 'onnx') {
    return stripUndefined({
      ...common,
      provider: 'onnx',
      path: resolve(folder, m.path),
      device: m.device === 'mps' ? 'coreml' : m.device,
      dtype: m.dtype ?? m.variant,
      file: m.file,
      maxBatchSize: m.max_batch_size,
      maxQueue: m.max_queue,
      threads: m.threads,
      toolParser: m.tool_parser,
      pooling: m.pooling,
      normalize: m.normalize,
      queryPrefix: m.query_prefix,
      documentPrefix: m.document_prefix,
      matryoshkaDimensions: m.matryoshka_dimensions,
      maxBatchTokens: m.max_batch_tokens,
    });
  }
  const cb = m.circuit_breaker;
  return stripUndefined({
    ...common,
    provider: 'http',
    baseUrl: m.base_url,
    upstreamModel: m.upstream_model,
    apiKeyEnv: m.api_key_env,
    timeoutMs: m.timeout_ms ?? HTTP_DEFAULTS.timeoutMs,
    maxRetries: m.max_retries ?? HTTP_DEFAULTS.maxRetries,
    extendedSampling: m.extended_sampling ?? false,
    circuitBreaker: cb && stripUndefined({ failureThreshold: cb.failure_threshold, cooldownMs: cb.cooldown_ms }),
    api: m.api,
    maxTokensField: m.max_tokens_field,
  });
}

/** `${VAR}` and `${VAR:-default}` in base_url; an unset variable without default is an error. */
function interpolateEnv(raw: unknown, env: Record<string, string | undefined>, issues: ConfigIssue[]): void {
  const models = (raw as { models?: unknown } | null)?.models;
  if (!Array.isArray(models)) return;
  models.forEach((m: Record<string, unknown> | null, i) => {
    if (!m || typeof m.base_url !== 'string') return;
    m.base_url = m.base_url.replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (_all, name: string, fallback?: string) => {
        const value = env[name] ?? fallback;
        if (value === undefined)
          issues.push({
            model: modelLabel(raw, i),
            field: 'base_url',
            message: `environment variable ${name} is not set`,
          });
        return value ?? '';
      },
    );
  });
}

function toIssues(issue: core.$ZodIssue, raw: unknown): ConfigIssue[] {
  const path = issue.path;
  if (path[0] !== 'models' || typeof path[1] !== 'number') {
    if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => ({ field: k, message: 'unknown field' }));
    return [{ field: path.length > 0 ? fieldName(path) : undefined, message: issue.message }];
  }
  const model = modelLabel(raw, path[1]);
  const rest = path.slice(2);
  if (issue.code === 'unrecognized_keys') {
    const provider = (raw as { models: Array<{ provider?: unknown }> }).models[path[1]]?.provider;
    return issue.keys.map((k) => ({
      model,
      field: rest.length ? `${fieldName(rest)}.${k}` : k,
      message: misplaced(k, provider),
    }));
  }
  return [{ model, field: rest.length ? fieldName(rest) : undefined, message: issue.message }];
}

function misplaced(key: string, provider: unknown): string {
  if ((ONNX_FIELDS as readonly string[]).includes(key) && provider !== 'onnx')
    return 'only allowed for provider "onnx"';
  if ((HTTP_FIELDS as readonly string[]).includes(key) && provider !== 'http')
    return 'only allowed for provider "http"';
  return 'unknown field';
}

/** `circuit_breaker.cooldown_ms`, `fallbacks[1]`. */
function fieldName(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');
}

/** The model's id when it has a usable one, else its position (`#2`). */
function modelLabel(raw: unknown, index: number): string {
  const id = (raw as { models: Array<{ id?: unknown }> }).models[index]?.id;
  return typeof id === 'string' && id.trim() !== '' ? id : `#${index + 1}`;
}

function stripUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}
