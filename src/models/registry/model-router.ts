import { ApiError } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-code';
import type { GenerateRequest, GenerateResult, StreamEvent } from '../provider.interface';
import type { ModelLease } from './model-entry';
import type { ResolvedModel } from './model-registry';
import { RoutedStream, type StreamAttempt } from './routed-stream';

/** What the router needs from the registry (the registry itself in production). */
export interface ModelSource {
  resolve(model?: string): ResolvedModel;
  acquire(model?: string): ModelLease;
}

/** One attempt at one model, for metrics and logs. */
export interface UpstreamOutcome {
  status: 'ok' | 'error' | 'aborted';
  /** The ApiError code when status is `error` (`internal_error` for anything else). */
  code?: string;
  latencyMs: number;
  /** This model was a fallback, not the one requested. */
  fallback: boolean;
}

export interface RouterHooks {
  /** Called once per attempt, when the attempt ends (for streams: when the stream ends). */
  onUpstreamOutcome?(model: string, outcome: UpstreamOutcome): void;
}

export interface RoutedResult {
  /** The model that actually answered. */
  model: string;
  /** The model the request resolved to (default applied, alias resolved). */
  requested: string;
  fallback: boolean;
  result: GenerateResult;
}

/** Failures that say "this model cannot answer right now", where another model may. */
const RETRYABLE = new Set<string>([ErrorCode.UpstreamError, ErrorCode.UpstreamTimeout, ErrorCode.ModelUnavailable]);

/**
 * Sends a request to its model and, when that fails before any output, to the model's
 * `fallbacks` in order. Knows nothing of local vs remote: everything is an LlmProvider.
 * When every candidate fails with such errors, the requested model's error is thrown (the one
 * the client asked about); any other error stops the chain and is thrown as is.
 */
export class ModelRouter {
  constructor(
    private readonly models: ModelSource,
    private readonly hooks: RouterHooks = {},
  ) {}

  async generate(req: GenerateRequest, model?: string): Promise<RoutedResult> {
    const primary = this.models.resolve(model);
    let firstError: unknown;
    for (const [i, candidate] of this.candidates(primary).entries()) {
      const lease = this.lease(candidate, i > 0);
      if (!lease.ok) {
        firstError ??= lease.error;
        if (lease.skip) continue;
        throw lease.error;
      }
      const started = performance.now();
      try {
        const result = await lease.lease.provider.generate(req);
        lease.lease.release();
        this.report(candidate, { status: 'ok', latencyMs: performance.now() - started, fallback: i > 0 });
        return { model: candidate, requested: primary.id, fallback: i > 0, result };
      } catch (err) {
        lease.lease.release({ failed: true });
        this.report(candidate, outcomeOf(err, req, performance.now() - started, i > 0));
        firstError ??= err;
        if (!this.mayFallBack(err, req)) throw err;
      }
    }
    throw firstError;
  }

  /**
   * Resolves once a model has produced its first event, so a failure before any output can
   * still fall back (and the caller can still answer with an HTTP error status). The stream
   * must be iterated to its end or `return()`ed: that releases the model.
   */
  async stream(req: GenerateRequest, model?: string): Promise<RoutedStream> {
    const primary = this.models.resolve(model);
    let firstError: unknown;
    for (const [i, candidate] of this.candidates(primary).entries()) {
      const lease = this.lease(candidate, i > 0);
      if (!lease.ok) {
        firstError ??= lease.error;
        if (lease.skip) continue;
        throw lease.error;
      }
      const started = performance.now();
      let iterator: AsyncIterator<StreamEvent>;
      let first: IteratorResult<StreamEvent>;
      try {
        iterator = lease.lease.provider.stream(req)[Symbol.asyncIterator]();
        first = await iterator.next();
      } catch (err) {
        lease.lease.release({ failed: true });
        this.report(candidate, outcomeOf(err, req, performance.now() - started, i > 0));
        firstError ??= err;
        if (!this.mayFallBack(err, req)) throw err;
        continue;
      }
      const attempt: StreamAttempt = {
        model: candidate,
        requested: primary.id,
        fallback: i > 0,
        lease: lease.lease,
        iterator,
        first,
        finish: (err, cancelled) => {
          const latencyMs = performance.now() - started;
          this.report(candidate, cancelled ? { status: 'aborted', latencyMs, fallback: i > 0 } : outcomeOf(err, req, latencyMs, i > 0));
        },
      };
      return new RoutedStream(attempt);
    }
    throw firstError;
  }

  private candidates(primary: ResolvedModel): string[] {
    return [primary.id, ...primary.config.fallbacks.filter((f) => f !== primary.id)];
  }

  /** A fallback removed by a reload, or one that failed to load, is skipped, not fatal. */
  private lease(model: string, isFallback: boolean):
    | { ok: true; lease: ModelLease }
    | { ok: false; error: unknown; skip: boolean } {
    try {
      return { ok: true, lease: this.models.acquire(model) };
    } catch (err) {
      const code = err instanceof ApiError ? err.code : undefined;
      const skip = code === ErrorCode.ModelUnavailable || (isFallback && code === ErrorCode.ModelNotFound);
      if (code === ErrorCode.ModelUnavailable) this.report(model, { status: 'error', code, latencyMs: 0, fallback: isFallback });
      return { ok: false, error: err, skip };
    }
  }

  private mayFallBack(err: unknown, req: GenerateRequest): boolean {
    if (req.signal?.aborted) return false;
    return err instanceof ApiError && RETRYABLE.has(err.code);
  }

  private report(model: string, outcome: UpstreamOutcome): void {
    try {
      this.hooks.onUpstreamOutcome?.(model, outcome);
    } catch {
      // A metrics hook must never break a request.
    }
  }
}

/** `undefined` error = success. */
export function outcomeOf(err: unknown, req: GenerateRequest, latencyMs: number, fallback: boolean): UpstreamOutcome {
  if (err === undefined) return { status: 'ok', latencyMs, fallback };
  if (req.signal?.aborted) return { status: 'aborted', latencyMs, fallback };
  const code = err instanceof ApiError ? err.code : ErrorCode.InternalError;
  return { status: 'error', code, latencyMs, fallback };
}
