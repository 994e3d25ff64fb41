import { abortReason, nextDelay, sleep, type RetryOptions } from './retry-policy';
import { classifyTransportError, isAbortError, type UpstreamFailure } from './upstream-errors';

/** Whose retries: the model named in errors, its retry policy, and (tests) the jitter source. */
export interface RetryContext {
  model: string;
  retry: RetryOptions;
  random?: () => number;
  /** Each retry, as it is decided (llm_upstream_requests_total{outcome="retry"}). */
  onRetry?: () => void;
}

/**
 * One upstream exchange with retries, as chat, /responses and /embeddings share them: `once` gives an outcome
 * (a status it classified as a failure included); a thrown transport error is classified here
 * unless `settled` turns it into an outcome. Retryable failures are retried `maxRetries` times
 * with backoff (or the upstream's Retry-After); an abort throws its reason at once.
 */
export async function retrying<O extends object>(
  ctx: RetryContext,
  signal: AbortSignal | undefined,
  once: () => Promise<O | { failure: UpstreamFailure }>,
  settled?: (err: unknown) => O | undefined,
): Promise<O | { failure: UpstreamFailure }> {
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw abortReason(signal);
    let failure: UpstreamFailure;
    try {
      const outcome = await once();
      if (!('failure' in outcome)) return outcome;
      failure = outcome.failure;
    } catch (err) {
      if (signal?.aborted || isAbortError(err)) throw signal ? abortReason(signal) : err;
      const outcome = settled?.(err);
      if (outcome) return outcome;
      failure = classifyTransportError(ctx.model, err);
    }
    if (!failure.retryable || attempt > ctx.retry.maxRetries) return { failure };
    ctx.onRetry?.();
    await sleep(nextDelay(attempt, failure.retryAfterMs, ctx.retry, ctx.random), signal);
  }
}
