import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code';
import { CircuitOpenError } from './http/circuit-breaker';

/**
 * How a failed attempt at a remote model counts in llm_upstream_requests_total, whichever
 * endpoint made it (the router's chat attempts, /responses, /embeddings). A client that left is
 * no outcome: callers do not ask.
 */
export type FailedUpstreamOutcome = 'error' | 'timeout' | 'circuit_open';

export function failedOutcome(err: unknown): FailedUpstreamOutcome {
  if (err instanceof CircuitOpenError) return 'circuit_open';
  return err instanceof ApiError && err.code === ErrorCode.UpstreamTimeout ? 'timeout' : 'error';
}
