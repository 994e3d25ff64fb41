import type { HttpModelConfig } from '../registry/models-config';
import type { LlmProvider } from '../provider.interface';
import type { BreakerState, CircuitBreakerOptions } from './circuit-breaker';
import { CircuitBreaker } from './circuit-breaker';
import { HttpLLMClient, type HttpLLMClientOptions } from './http-llm-client';
import { EmbeddingsUpstream } from './embeddings-upstream';
import { withUpstreams } from './provider-upstreams';
import { ResponsesUpstream } from './responses-upstream';
import type { TokenCounter } from './token-estimate';

export interface HttpProviderFactoryOptions {
  /** Where `api_key_env` variables are looked up (the app's validated environment). */
  env: Record<string, string | undefined>;
  /** A tokenizer to count with when an upstream sends no usage. */
  tokenCounter?: (cfg: HttpModelConfig) => TokenCounter | undefined;
  /** Breaker defaults; models.yaml `circuit_breaker` overrides them per model. */
  breaker?: Partial<CircuitBreakerOptions>;
  /** For metrics: a model's circuit changed state. */
  onBreakerStateChange?: (state: BreakerState, model: string) => void;
  /** For metrics: an upstream call of a model is retried. */
  onRetry?: (model: string) => void;
  /** Anything else (retry timings, health timings, pool size), for every model. */
  client?: Partial<Omit<HttpLLMClientOptions, 'model' | 'baseUrl'>>;
}

/** The registry's `http` factory: models.yaml entry → HttpLLMClient (with its /responses or /embeddings upstream). */
export function createHttpProviderFactory(
  opts: HttpProviderFactoryOptions,
): (cfg: HttpModelConfig) => Promise<LlmProvider> {
  return async (cfg) => {
    let apiKey: string | undefined;
    if (cfg.apiKeyEnv) {
      apiKey = opts.env[cfg.apiKeyEnv];
      // Configured but missing: refusing beats sending unauthenticated requests that all 401.
      if (!apiKey) throw new Error(`environment variable ${cfg.apiKeyEnv} (api_key_env) is not set`);
    }
    const breaker = new CircuitBreaker(
      cfg.id,
      {
        ...opts.breaker,
        ...withoutUndefined({
          failureThreshold: cfg.circuitBreaker?.failureThreshold,
          cooldownMs: cfg.circuitBreaker?.cooldownMs,
        }),
      },
      opts.onBreakerStateChange,
    );
    // What chat, /responses and /embeddings share: the upstream, its transport and its breaker.
    const shared = {
      model: cfg.id,
      baseUrl: cfg.baseUrl,
      upstreamModel: cfg.upstreamModel,
      apiKey,
      timeoutMs: cfg.timeoutMs,
      connectTimeoutMs: opts.client?.connectTimeoutMs,
      maxRetries: cfg.maxRetries,
      retry: opts.client?.retry,
      dropParams: cfg.dropParams,
      breaker,
      connections: opts.client?.connections,
      random: opts.client?.random,
      onRetry: opts.onRetry ?? opts.client?.onRetry,
    };
    const client = new HttpLLMClient({
      ...opts.client,
      ...shared,
      extendedSampling: cfg.extendedSampling,
      params: cfg.params,
      maxTokensField: cfg.maxTokensField,
      contextLength: cfg.contextLength,
      tokenCounter: opts.tokenCounter?.(cfg) ?? opts.client?.tokenCounter,
    });
    return withUpstreams(client, {
      responses: cfg.api === 'responses' ? new ResponsesUpstream(shared) : undefined,
      embeddings: cfg.task === 'embeddings' ? new EmbeddingsUpstream({ ...shared, params: cfg.params }) : undefined,
    });
  };
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
