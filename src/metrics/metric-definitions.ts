import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';

export const METRIC_PREFIX = 'llm_';

/** From sub-millisecond cache hits and 401s to minute-long generations. */
export const HTTP_DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
export const INFERENCE_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120];
export const TTFT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];
export const INTER_TOKEN_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2];
export const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];

/**
 * Every metric the server exports, in one registry per application (not prom-client's global
 * one), so two apps in one process (tests, the bench) never collide or mix their counts.
 */
export function defineMetrics(registry: Registry, opts: { perKey: boolean }) {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name: METRIC_PREFIX + name, help, labelNames, registers });
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Gauge<L>({ name: METRIC_PREFIX + name, help, labelNames, registers });
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) =>
    new Histogram<L>({ name: METRIC_PREFIX + name, help, labelNames, buckets, registers });

  // Process and Node.js metrics under our prefix: llm_process_*, llm_nodejs_*. Three of
  // prom-client's gauges end in _total, which Prometheus reserves for counters; their per-type
  // breakdowns (llm_nodejs_active_handles etc.) carry the same information.
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) {
    registry.removeSingleMetric(`${METRIC_PREFIX}nodejs_${name}`);
  }

  return {
    httpRequests: counter('http_requests_total', 'HTTP requests by route template, method and status', [
      'route',
      'method',
      'status',
    ] as const),
    httpDuration: histogram(
      'http_request_duration_seconds',
      'HTTP request duration by route template and method',
      ['route', 'method'] as const,
      HTTP_DURATION_BUCKETS,
    ),
    errors: counter('errors_total', 'Error responses by error code', ['code'] as const),
    cacheRequests: counter(
      'cache_requests_total',
      'Completion cache lookups by tier (l1, l2; none for bypass) and result',
      ['tier', 'result'] as const,
    ),
    tokens: counter('tokens_total', 'Tokens processed by model and kind (prompt, completion)', [
      'model',
      'kind',
    ] as const),
    cachedPromptTokens: counter(
      'cached_prompt_tokens_total',
      'Prompt tokens a remote upstream served from its prompt cache (included in tokens_total prompt)',
      ['model'] as const,
    ),
    reasoningTokens: counter(
      'reasoning_tokens_total',
      'Reasoning tokens a remote upstream reported (included in tokens_total completion)',
      ['model'] as const,
    ),
    inferenceDuration: histogram(
      'inference_duration_seconds',
      'Time to produce a whole completion by model and provider',
      ['model', 'provider'] as const,
      INFERENCE_DURATION_BUCKETS,
    ),
    ttft: histogram(
      'time_to_first_token_seconds',
      'Time from request to the first generated token',
      ['model'] as const,
      TTFT_BUCKETS,
    ),
    interToken: histogram(
      'inter_token_latency_seconds',
      'Time between consecutive generated tokens (1/x is the decode speed)',
      ['model'] as const,
      INTER_TOKEN_BUCKETS,
    ),
    inflight: gauge('inflight_requests', 'Inference requests running now, by model', ['model'] as const),
    queueDepth: gauge('queue_depth', 'Inference requests waiting for a slot, by model', ['model'] as const),
    batchSize: histogram(
      'batch_size',
      'Sequences decoded together per engine step, by model',
      ['model'] as const,
      BATCH_SIZE_BUCKETS,
    ),
    rateLimited: counter('rate_limited_total', 'Requests refused by a rate limit (429), by limit (requests, tokens)', [
      'limit',
    ] as const),
    quotaExhausted: counter('quota_exhausted_total', 'Requests refused because the key quota is used up (402)'),
    modelUp: gauge('model_up', '1 when the model is loaded (local) or reachable (remote), else 0', ['model'] as const),
    circuitState: gauge(
      'upstream_circuit_state',
      "A remote model's circuit breaker: 0 closed, 1 half-open (one probe allowed), 2 open (calls refused)",
      ['model'] as const,
    ),
    upstream: counter('upstream_requests_total', 'Requests to remote models by outcome', ['model', 'outcome'] as const),
    keyRequests: opts.perKey
      ? counter('key_requests_total', 'Authenticated requests by API key id (METRICS_PER_KEY)', ['key_id'] as const)
      : undefined,
    logsWritten: counter('inference_logs_written_total', 'inference_logs rows written to PostgreSQL'),
    logsDropped: counter(
      'inference_logs_dropped_total',
      'inference_logs rows lost: buffer_full (oldest dropped), invalid (refused by the database), shutdown (database unreachable at exit)',
      ['reason'] as const,
    ),
    logFlushFailures: counter(
      'inference_log_flush_failures_total',
      'Failed inference_logs batch inserts (retried with backoff)',
    ),
    logsBuffered: gauge('inference_logs_buffered', 'inference_logs rows waiting in memory'),
    writeBehindDropped: counter(
      'write_behind_dropped_total',
      'Items a write-behind buffer lost, by buffer and reason: buffer_full (oldest dropped), shutdown (not written at exit)',
      ['buffer', 'reason'] as const,
    ),
  };
}

export type Metrics = ReturnType<typeof defineMetrics>;
