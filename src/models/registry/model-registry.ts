import { isDeepStrictEqual } from 'node:util';
import { ApiError } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-code';
import type { LlmProvider, ProviderHealth, ProviderKind } from '../provider.interface';
import { ModelEntry, type ModelLease } from './model-entry';
import {
  ModelsConfigError,
  loadModelsConfig,
  type HttpModelConfig,
  type LoadOptions,
  type ModelConfig,
  type ModelsConfig,
  type OnnxModelConfig,
} from './models-config';

/** How each provider kind is built from its config (the local one lives with the ONNX engine). */
export interface ProviderFactories {
  onnx: (cfg: OnnxModelConfig) => Promise<LlmProvider>;
  http: (cfg: HttpModelConfig) => Promise<LlmProvider>;
}

export type ModelStatus = 'ready' | 'error' | 'open-circuit';

/** What a provider may expose beyond LlmProvider: its circuit breaker (remote models do). */
interface BreakerView {
  state: 'closed' | 'open' | 'half-open';
  consecutiveFailures: number;
  openedAt: number | null;
  retryAfterMs: number;
}

export interface ResolvedModel {
  id: string;
  config: ModelConfig;
  status: ModelStatus;
  error?: string;
  /** Provider version (cache keys use it); undefined when the model failed to load. */
  version?: string;
  contextLength?: number;
}

/** One row of `GET /admin/models`. */
export interface ModelInfo extends ResolvedModel {
  provider: ProviderKind;
  aliases: string[];
  fallbacks: string[];
  isDefault: boolean;
  /** Exponentially weighted average of successful request durations, ms. */
  latencyMs: number | null;
  inflight: number;
  queued: number;
  /** The provider's own health check (remote: GET /models, cached). */
  up: boolean;
  healthDetail?: string;
  breaker?: BreakerView;
}

export interface ReloadReport {
  added: string[];
  removed: string[];
  /** Changed config, loaded afresh. */
  reloaded: string[];
  /** Same config: carried over with its provider, breaker and latency. */
  unchanged: string[];
  /** Resolves once every retired provider has drained and closed. */
  retired: Promise<void>;
}

export interface RegistryOptions extends LoadOptions {
  /** Where provider close failures and load failures are reported. */
  logger?: { warn(message: string): void };
  /** Bound on `list()`'s health calls. */
  healthTimeoutMs?: number;
}

interface Generation {
  config: ModelsConfig;
  entries: Map<string, ModelEntry>;
  /** id and every alias → id. */
  names: Map<string, string>;
}

/**
 * The model manager: every configured model with its provider. Reloads build a
 * complete new generation and swap it in one assignment; retired providers close only after
 * their leases (in-flight requests) come back.
 */
export class ModelRegistry {
  private reloading: Promise<unknown> = Promise.resolve();

  private constructor(
    private gen: Generation,
    private readonly factories: ProviderFactories,
    private readonly opts: RegistryOptions,
  ) {}

  /** A model that fails to load is kept with status `error`; the others serve. */
  static async create(
    config: ModelsConfig,
    factories: ProviderFactories,
    opts: RegistryOptions = {},
  ): Promise<ModelRegistry> {
    const { gen } = await buildGeneration(config, factories, undefined, opts);
    for (const e of gen.entries.values()) {
      if (e.loadError) opts.logger?.warn(`model "${e.id}" failed to load: ${e.loadError}`);
    }
    return new ModelRegistry(gen, factories, opts);
  }

  static async load(file: string, factories: ProviderFactories, opts: RegistryOptions = {}): Promise<ModelRegistry> {
    return ModelRegistry.create(await loadModelsConfig(file, opts), factories, opts);
  }

  get config(): ModelsConfig {
    return this.gen.config;
  }

  get defaultModel(): string {
    return this.gen.config.defaultModel;
  }

  /** The model a request names (alias or id), or the default one; 404 model_not_found if unknown. */
  resolve(model?: string): ResolvedModel {
    return describe(this.entry(model));
  }

  /** Lends the model's provider for one request; 503 model_unavailable if it failed to load. */
  acquire(model?: string): ModelLease {
    return this.entry(model).acquire();
  }

  async list(): Promise<ModelInfo[]> {
    const entries = [...this.gen.entries.values()];
    return Promise.all(entries.map((e) => this.info(e)));
  }

  /**
   * Reads `file` (default: the current one), loads what changed and swaps atomically. A file
   * that does not validate, or a model that does not load (and was loading fine before), is
   * refused with a ModelsConfigError and the current models keep serving. Reloads queue.
   * `force` reloads unchanged models too (e.g. after their files were replaced in place).
   */
  reload(file: string = this.gen.config.file, opts: { force?: boolean } = {}): Promise<ReloadReport> {
    const run = this.reloading.then(() => this.doReload(file, !!opts.force));
    this.reloading = run.catch(() => undefined);
    return run;
  }

  /** Retires every model; resolves when all have drained and closed. */
  async close(): Promise<void> {
    await Promise.all([...this.gen.entries.values()].map((e) => e.retire()));
  }

  private async doReload(file: string, force: boolean): Promise<ReloadReport> {
    const config = await loadModelsConfig(file, this.opts);
    const old = this.gen;
    const { gen, created } = await buildGeneration(config, this.factories, force ? undefined : old, this.opts);
    const newlyBroken = created.filter((e) => e.loadError && !wasBrokenTheSame(old, e));
    if (newlyBroken.length > 0) {
      await Promise.all(created.map((e) => e.retire()));
      throw new ModelsConfigError(
        file,
        newlyBroken.map((e) => ({ model: e.id, message: `failed to load: ${e.loadError}` })),
      );
    }
    this.gen = gen; // the swap: one assignment, so no request ever sees half a registry
    const retiring = [...old.entries.values()].filter((e) => gen.entries.get(e.id) !== e);
    const retired = Promise.all(retiring.map((e) => e.retire())).then(() => undefined);
    const oldIds = new Set(old.entries.keys());
    const ids = [...gen.entries.keys()];
    return {
      added: ids.filter((id) => !oldIds.has(id)),
      removed: [...oldIds].filter((id) => !gen.entries.has(id)),
      reloaded: ids.filter((id) => oldIds.has(id) && old.entries.get(id) !== gen.entries.get(id)),
      unchanged: ids.filter((id) => old.entries.get(id) === gen.entries.get(id)),
      retired,
    };
  }

  private entry(model?: string): ModelEntry {
    const name = model ?? this.gen.config.defaultModel;
    const id = this.gen.names.get(name);
    const entry = id === undefined ? undefined : this.gen.entries.get(id);
    if (!entry) {
      const known = [...this.gen.entries.keys()].join(', ');
      throw new ApiError(ErrorCode.ModelNotFound, `The model "${name}" does not exist (available: ${known})`, 'model');
    }
    return entry;
  }

  private async info(e: ModelEntry): Promise<ModelInfo> {
    const base = describe(e);
    const health = e.provider ? await boundedHealth(e.provider, this.opts.healthTimeoutMs ?? 3_000) : undefined;
    return {
      ...base,
      provider: e.config.provider,
      aliases: e.config.aliases,
      fallbacks: e.config.fallbacks,
      isDefault: e.id === this.gen.config.defaultModel,
      latencyMs: e.latencyMs,
      inflight: e.inflight,
      queued: health?.queued ?? 0,
      up: base.status !== 'error' && !!health?.up,
      healthDetail: health?.detail ?? e.loadError,
      ...(breakerOf(e.provider) && { breaker: breakerOf(e.provider) }),
    };
  }
}

async function buildGeneration(
  config: ModelsConfig,
  factories: ProviderFactories,
  previous: Generation | undefined,
  opts: RegistryOptions,
): Promise<{ gen: Generation; created: ModelEntry[] }> {
  const created: ModelEntry[] = [];
  const onCloseError = (id: string, err: unknown): void =>
    opts.logger?.warn(`closing model "${id}" failed: ${err instanceof Error ? err.message : String(err)}`);
  const entries = await Promise.all(
    config.models.map(async (cfg) => {
      const prior = previous?.entries.get(cfg.id);
      if (prior && prior.provider && isDeepStrictEqual(prior.config, cfg)) return prior;
      const entry = await loadEntry(cfg, factories, onCloseError);
      created.push(entry);
      return entry;
    }),
  );
  const names = new Map<string, string>();
  for (const m of config.models) {
    names.set(m.id, m.id);
    for (const a of m.aliases) names.set(a, m.id);
  }
  return { gen: { config, entries: new Map(entries.map((e) => [e.id, e])), names }, created };
}

async function loadEntry(
  cfg: ModelConfig,
  factories: ProviderFactories,
  onCloseError: (id: string, err: unknown) => void,
): Promise<ModelEntry> {
  try {
    const provider = cfg.provider === 'onnx' ? await factories.onnx(cfg) : await factories.http(cfg);
    return ModelEntry.ready(cfg, provider, onCloseError);
  } catch (err) {
    return ModelEntry.failed(cfg, err instanceof Error ? err.message : String(err));
  }
}

function wasBrokenTheSame(old: Generation, e: ModelEntry): boolean {
  const prior = old.entries.get(e.id);
  return !!prior?.loadError && isDeepStrictEqual(prior.config, e.config);
}

function describe(e: ModelEntry): ResolvedModel {
  const breaker = breakerOf(e.provider);
  const status: ModelStatus = e.loadError ? 'error' : breaker && breaker.state !== 'closed' ? 'open-circuit' : 'ready';
  return {
    id: e.id,
    config: e.config,
    status,
    ...(e.loadError !== undefined && { error: e.loadError }),
    ...(e.provider && { version: e.provider.version }),
    ...((e.provider?.contextLength ?? e.config.contextLength) !== undefined && {
      contextLength: e.provider?.contextLength ?? e.config.contextLength,
    }),
  };
}

function breakerOf(p: LlmProvider | undefined): BreakerView | undefined {
  const b = (p as { breaker?: { snapshot?: () => BreakerView } } | undefined)?.breaker;
  return typeof b?.snapshot === 'function' ? b.snapshot() : undefined;
}

async function boundedHealth(p: LlmProvider, ms: number): Promise<ProviderHealth> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ProviderHealth>((resolve) => {
    timer = setTimeout(() => resolve({ up: false, detail: `health check took over ${ms} ms` }), ms);
  });
  try {
    return await Promise.race([
      p.health().catch((err: unknown): ProviderHealth => ({ up: false, detail: String(err) })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
