import { Pool } from 'undici';
import type { CircuitBreaker } from './circuit-breaker';
import { DEFAULT_RETRY } from './retry-policy';
import type { RetryContext } from './retrying';

/** What a remote model's other endpoints (/responses, /embeddings) are built from. */
export interface UpstreamEndpointOptions {
  model: string;
  baseUrl: string;
  upstreamModel?: string;
  apiKey?: string;
  timeoutMs?: number;
  maxRetries?: number;
  dropParams?: readonly string[];
  /** The model's breaker, shared with its chat client: one upstream, one health. */
  breaker: CircuitBreaker;
  /** Max sockets to the upstream; null = unlimited. */
  connections?: number | null;
  random?: () => number;
  /** Each retry of an upstream call (metrics). */
  onRetry?: (model: string) => void;
}

/** The endpoint's transport, set up as the chat client's: a keep-alive pool and its retry policy. */
export function endpointTransport(opts: UpstreamEndpointOptions): {
  pool: Pool;
  basePath: string;
  retryContext: RetryContext;
} {
  const url = new URL(opts.baseUrl);
  const timeout = opts.timeoutMs ?? 60_000;
  return {
    basePath: url.pathname.replace(/\/+$/, ''),
    retryContext: {
      model: opts.model,
      retry: { ...DEFAULT_RETRY, maxRetries: opts.maxRetries ?? DEFAULT_RETRY.maxRetries },
      random: opts.random,
      onRetry: opts.onRetry && (() => opts.onRetry!(opts.model)),
    },
    pool: new Pool(url.origin, {
      connections: opts.connections ?? null,
      connectTimeout: Math.min(timeout, 10_000),
      headersTimeout: timeout,
      bodyTimeout: timeout,
      keepAliveTimeout: 30_000,
    }),
  };
}
