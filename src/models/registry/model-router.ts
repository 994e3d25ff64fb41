import { ApiError } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-code';
import type { GenerateRequest, GenerateResult } from '../provider.interface';
import type { ModelLease } from './model-entry';
import type { ResolvedModel } from './model-registry';
import { RoutedStream, type StreamAttempt } from './routed-stream';
import { localRefusal } from '../wire-params';
import { failedOutcome, type FailedUpstreamOutcome } from '../upstream-outcome';

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
  /** With status `error`: how it counts in llm_upstream_requests_total (upstream-outcome.ts). */
  failure?: FailedUpstreamOutcome;
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

/** One candidate being tried: its lease is held until the attempt resolves (or fails). */
interface Attempt {
  model: string;
  requested: string;
  fallback: boolean;
  lease: ModelLease;
  started: number;
}

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
    return this.route(req, model, async (t) => {
      const result = await t.lease.provider.generate(req);
      t.lease.release();
      this.report(t.model, { status: 'ok', latencyMs: performance.now() - t.started, fallback: t.fallback });
      return { model: t.model, requested: t.requested, fallback: t.fallback, result };
    });
  }

  /**
   * Resolves once a model has produced its first event, so a failure before any output can
   * still fall back (and the caller can still answer with an HTTP error status). The stream
   * must be iterated to its end or `return()`ed: that releases the model.
   */
  async stream(req: GenerateRequest, model?: string): Promise<RoutedStream> {
    return this.route(req, model, async (t) => {
      const iterator = t.lease.provider.stream(req)[Symbol.asyncIterator]();
      const first = await iterator.next();
      const attempt: StreamAttempt = {
        model: t.model,
        requested: t.requested,
        fallback: t.fallback,
        lease: t.lease,
        iterator,
        first,
        finish: (err, cancelled) => {
          const latencyMs = performance.now() - t.started;
          this.report(
            t.model,
            cancelled
              ? { status: 'aborted', latencyMs, fallback: t.fallback }
              : outcomeOf(err, req, latencyMs, t.fallback),
          );
        },
      };
      return new RoutedStream(attempt);
    });
  }

  /**
   * The candidate loop both calls share: lease each candidate in turn and run `attempt` on it
   * until one succeeds. `attempt` owns the lease once it resolves; when it throws before any
   * output, the lease is released, the outcome reported, and the next candidate tried if the
   * error allows a fallback.
   */
  private async route<T>(
    req: GenerateRequest,
    model: string | undefined,
    attempt: (t: Attempt) => Promise<T>,
  ): Promise<T> {
    const primary = this.models.resolve(model);
    let firstError: unknown;
    const skipped: string[] = [];
    for (const [i, candidate] of this.candidates(primary).entries()) {
      const fallback = i > 0;
      const refused = fallback ? this.localRefusal(candidate, req) : undefined;
      if (refused) {
        skipped.push(`"${candidate}" (local: does not support "${refused}")`);
        continue;
      }
      const lease = this.lease(candidate, fallback);
      if (!lease.ok) {
        firstError ??= lease.error;
        if (lease.skip) continue;
        throw lease.error;
      }
      const cannot = fallback ? lease.lease.provider.refusal?.(req) : undefined;
      if (cannot) {
        lease.lease.release();
        skipped.push(`"${candidate}" (local: does not support "${cannot}")`);
        continue;
      }
      const started = performance.now();
      try {
        return await attempt({ model: candidate, requested: primary.id, fallback, lease: lease.lease, started });
      } catch (err) {
        lease.lease.release({ failed: true });
        this.report(candidate, outcomeOf(err, req, performance.now() - started, fallback));
        firstError ??= err;
        if (!this.mayFallBack(err, req)) throw err;
      }
    }
    throw withSkipped(firstError, skipped);
  }

  /** A local fallback must not be handed a body its engine cannot honour (docs/api.md). */
  private localRefusal(candidate: string, req: GenerateRequest): string | undefined {
    if (!req.body) return undefined;
    let config: ResolvedModel['config'];
    try {
      config = this.models.resolve(candidate).config;
    } catch {
      return undefined; // a removed fallback: lease() reports and skips it
    }
    return config.provider === 'onnx' ? localRefusal(req.body, config) : undefined;
  }

  private candidates(primary: ResolvedModel): string[] {
    return [primary.id, ...primary.config.fallbacks.filter((f) => f !== primary.id)];
  }

  /** A fallback removed by a reload, or one that failed to load, is skipped, not fatal. */
  private lease(
    model: string,
    isFallback: boolean,
  ): { ok: true; lease: ModelLease } | { ok: false; error: unknown; skip: boolean } {
    try {
      return { ok: true, lease: this.models.acquire(model) };
    } catch (err) {
      const code = err instanceof ApiError ? err.code : undefined;
      const skip = code === ErrorCode.ModelUnavailable || (isFallback && code === ErrorCode.ModelNotFound);
      if (code === ErrorCode.ModelUnavailable)
        this.report(model, { status: 'error', code, failure: failedOutcome(err), latencyMs: 0, fallback: isFallback });
      return { ok: false, error: err, skip };
    }
  }

  private mayFallBack(err: unknown, req: GenerateRequest): boolean {
    if (req.signal?.aborted) return false;
    // An upstream's own client error (400/404/422) would be the same on any candidate (docs/api.md).
    return err instanceof ApiError && !err.passThrough && RETRYABLE.has(err.code);
  }

  private report(model: string, outcome: UpstreamOutcome): void {
    try {
      this.hooks.onUpstreamOutcome?.(model, outcome);
    } catch {
      // A metrics hook must never break a request.
    }
  }
}

/** The last error, saying which fallbacks were skipped for the request's fields. */
function withSkipped(err: unknown, skipped: string[]): unknown {
  if (skipped.length === 0 || !(err instanceof ApiError)) return err;
  const note = `; fallback ${skipped.join(', ')} skipped`;
  return new ApiError(err.code, err.message + note, err.param, err.headers, err.passThrough);
}

/** `undefined` error = success. */
export function outcomeOf(err: unknown, req: GenerateRequest, latencyMs: number, fallback: boolean): UpstreamOutcome {
  if (err === undefined) return { status: 'ok', latencyMs, fallback };
  if (req.signal?.aborted) return { status: 'aborted', latencyMs, fallback };
  const code = err instanceof ApiError ? err.code : ErrorCode.InternalError;
  return { status: 'error', code, failure: failedOutcome(err), latencyMs, fallback };
}
