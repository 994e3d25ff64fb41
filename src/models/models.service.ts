import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code';
import { AppConfig } from '../config/app-config';
import { ReadinessRegistry } from '../common/lifecycle/readiness.registry';
import { createHttpProviderFactory } from './http';
import { createOnnxProvider, type EngineHooks, ModelLoadError } from './onnx';
import {
  declaresNoModels,
  ModelRegistry,
  ModelRouter,
  type ModelInfo,
  type ModelLease,
  type ReloadReport,
  type ResolvedModel,
  type UpstreamOutcome,
} from './registry';
import { bundledModelHint } from './bundled-model';
import { TokenCountMemo } from './token-count.memo';
import { createEncoderProvider, encoderOptions } from './encoder/encoder.provider';

/** What the metrics module plugs in (models and their engines report through these). */
export interface ModelObservers {
  engineHooks?(model: string): EngineHooks;
  onUpstreamOutcome?(model: string, outcome: UpstreamOutcome): void;
  /** A remote model's upstream call is retried (chat, /responses, /embeddings). */
  onUpstreamRetry?(model: string): void;
  onModelsChanged?(models: ModelInfo[]): void;
}

/**
 * Owns the model registry (what the feature list calls the MultiModelManager) for the app's lifetime: loads
 * models.yaml at start, reloads it on demand, closes every model at shutdown.
 */
@Injectable()
export class ModelsService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Models');
  private registry?: ModelRegistry;
  private observers: ModelObservers = {};
  private readonly tokenCounts = new TokenCountMemo();
  readonly router: ModelRouter;

  constructor(
    private readonly config: AppConfig,
    readiness: ReadinessRegistry,
  ) {
    this.router = new ModelRouter(
      { resolve: (m) => this.current().resolve(m), acquire: (m) => this.current().acquire(m) },
      { onUpstreamOutcome: (model, outcome) => this.observers.onUpstreamOutcome?.(model, outcome) },
    );
    readiness.register('models', async () => {
      if (!this.registry) return { up: true, models: 0, note: 'no models.yaml' };
      const models = await this.registry.list();
      // The status only: a model's error can name its upstream's address, and /readyz is public.
      const notReady = models.filter((m) => m.status !== 'ready').map((m) => `${m.id}: ${m.status}`);
      return { up: notReady.length === 0, models: models.length, ...(notReady.length ? { not_ready: notReady } : {}) };
    });
  }

  setObservers(observers: ModelObservers): void {
    this.observers = observers;
  }

  async onModuleInit(): Promise<void> {
    const file = this.config.models.configPath;
    if (!existsSync(file)) {
      this.logger.warn(`no models config at ${file}: serving no models (set MODELS_CONFIG)`);
      return;
    }
    if (await declaresNoModels(file)) {
      this.logger.log(`${file} lists no models: serving none`);
      return;
    }
    this.registry = await ModelRegistry.load(file, this.factories(), {
      env: this.config.environment,
      logger: this.logger,
    });
    await this.announce();
  }

  /** Swaps in a new registry built from the file; a bad file throws and the old one keeps serving. */
  async reload(): Promise<ReloadReport> {
    const file = this.config.models.configPath;
    if (!this.registry) {
      if (!existsSync(file)) throw ApiError.invalid(`no models config at ${file}`, 'MODELS_CONFIG');
      this.registry = await ModelRegistry.load(file, this.factories(), {
        env: this.config.environment,
        logger: this.logger,
      });
      await this.announce();
      const added = this.registry.config.models.map((m) => m.id);
      return { added, removed: [], reloaded: [], unchanged: [], retired: Promise.resolve() };
    }
    const report = await this.registry.reload(file);
    await this.announce();
    return report;
  }

  resolve(model?: string): ResolvedModel {
    return this.current().resolve(model);
  }

  /** Lends a model's provider for one request that does not go through the router; release it once. */
  lease(model: string): ModelLease {
    return this.current().acquire(model);
  }

  async list(): Promise<ModelInfo[]> {
    return this.registry ? this.registry.list() : [];
  }

  /** Prompt tokens for a request, with the model's own tokenizer (chat template applied). */
  async countTokens(
    model: string,
    input: Parameters<import('./provider.interface').LlmProvider['countTokens']>[0],
    body?: Record<string, unknown>,
  ): Promise<number> {
    const lease = this.current().acquire(model);
    try {
      if (lease.provider.countsByLength) return await lease.provider.countTokens(input);
      // A local model counts an OpenAI body's prompt itself (tools, prompt lists) and validates it
      // there: its count is remembered per body, which only a valid body reaches.
      const byBody = body !== undefined && lease.provider.kind === 'onnx';
      // Body counts get their own key space: a prompt equal to a body's JSON text never shares one.
      const key = byBody
        ? this.tokenCounts.key(`${model}\u0000${lease.provider.version}\u0000body`, JSON.stringify(body))
        : this.tokenCounts.key(`${model}\u0000${lease.provider.version}`, input);
      const known = key === undefined ? undefined : this.tokenCounts.get(key);
      if (known !== undefined) return known;
      const n = await (byBody ? lease.provider.countTokens(input, body) : lease.provider.countTokens(input));
      if (key !== undefined) this.tokenCounts.set(key, n);
      return n;
    } finally {
      lease.release();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.registry?.close();
  }

  private current(): ModelRegistry {
    if (!this.registry) throw new ApiError(ErrorCode.ModelNotFound, 'no models are configured on this server', 'model');
    return this.registry;
  }

  private async announce(): Promise<void> {
    const models = await this.list();
    this.observers.onModelsChanged?.(models);
    for (const m of models) {
      if (m.status === 'error') this.logger.error(`model "${m.id}" is not available: ${m.error}`);
    }
  }

  private factories() {
    const device = this.config.models.device;
    return {
      onnx: async (cfg: import('./registry').OnnxModelConfig) => {
        const missing = bundledModelHint(cfg.path);
        if (missing) throw new ModelLoadError(cfg.path, missing);
        if (cfg.task === 'embeddings')
          return createEncoderProvider(encoderOptions(cfg, device, this.logger, this.observers.engineHooks?.(cfg.id)));
        return createOnnxProvider({
          id: cfg.id,
          path: cfg.path,
          device: cfg.device ?? device,
          dtype: cfg.dtype,
          file: cfg.file,
          maxBatchSize: cfg.maxBatchSize,
          maxQueue: cfg.maxQueue,
          threads: cfg.threads,
          toolParser: cfg.toolParser,
          logger: this.logger,
          hooks: this.observers.engineHooks?.(cfg.id),
        });
      },
      http: createHttpProviderFactory({
        env: this.config.environment,
        onRetry: (model) => this.observers.onUpstreamRetry?.(model),
      }),
    };
  }
}
