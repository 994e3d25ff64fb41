import { Pool } from 'undici';
import type { CircuitBreaker } from './circuit-breaker';
import { DEFAULT_RETRY, type RetryOptions } from './retry-policy';
import type { RetryContext } from './retrying';

/** How a remote model's calls reach its upstream: the same for chat, /responses and /embeddings. */
export interface UpstreamTransportOptions {
  /** Our model id: named in errors and metrics. */
  model: string;
  /** e.g. `http://gpu-host:8000/v1`; request paths are appended to it. */
  baseUrl: string;
  /** Connect, response headers and body idle limit, each (models.yaml `timeout_ms`). */
  timeoutMs?: number;
  /** Connect limit; default min(timeoutMs, 10 s) so a black-holed host fails over quickly. */
  connectTimeoutMs?: number;
  maxRetries?: number;
  retry?: Partial<Omit<RetryOptions, 'maxRetries'>>;
  /** Max sockets to the upstream; null = unlimited. */
  connections?: number | null;
  /** For tests: the jitter source. */
  random?: () => number;
  /** Each retry of an upstream call (metrics). */
  onRetry?: (model: string) => void;
}

/** What a remote model's other endpoints (/responses, /embeddings) are built from. */
export interface UpstreamEndpointOptions extends UpstreamTransportOptions {
  upstreamModel?: string;
  apiKey?: string;
  dropParams?: readonly string[];
  /** The model's breaker, shared with its chat client: one upstream, one health. */
  breaker: CircuitBreaker;
}

/** A keep-alive pool to the upstream, the base path, and the retry policy of its calls. */
export function upstreamTransport(opts: UpstreamTransportOptions): {
  pool: Pool;
  basePath: string;
  retryContext: RetryContext;
} {
  const url = new URL(opts.baseUrl);
  const timeout = opts.timeoutMs ?? 60_000;
  const onRetry = opts.onRetry;
  return {
    basePath: url.pathname.replace(/\/+$/, ''),
    retryContext: {
      model: opts.model,
      retry: { ...DEFAULT_RETRY, ...opts.retry, maxRetries: opts.maxRetries ?? DEFAULT_RETRY.maxRetries },
      random: opts.random,
      onRetry: onRetry && (() => onRetry(opts.model)),
    },
    pool: new Pool(url.origin, {
      connections: opts.connections ?? null,
      connectTimeout: opts.connectTimeoutMs ?? Math.min(timeout, 10_000),
      headersTimeout: timeout,
      bodyTimeout: timeout,
      keepAliveTimeout: 30_000,
    }),
  };
}

/** What every call to an OpenAI-compatible upstream sends: JSON in, JSON or SSE out, its key. */
export function upstreamHeaders(apiKey: string | undefined, stream: boolean): Record<string, string> {
  const h: Record<string, string> = {
    'content-type': 'application/json',
    accept: stream ? 'text/event-stream' : 'application/json',
  };
  if (apiKey) h.authorization = `Bearer ${apiKey}`;
  return h;
}
