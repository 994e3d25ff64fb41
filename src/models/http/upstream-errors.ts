import { ApiError } from '../../common/errors/api-error';
import { ErrorCode, errorType } from '../../common/errors/error-code';
import { PartialOutputError } from '../partial-output.error';
import type { TokenUsage } from '../provider.interface';
import type { BreakerPermit } from './circuit-breaker';
import { parseRetryAfter } from './retry-policy';

/**
 * How upstream failures map onto our error table (docs/api.md) (and why):
 * - nothing listening / DNS / unreachable host → 503 model_unavailable: the model is not there.
 * - connection reset or closed mid-request, 5xx, unreadable body → 502 upstream_error.
 * - connect / headers / body-idle timeout → 504 upstream_timeout.
 * - 408, 409, 5xx → 502 upstream_error; retried, then the model's fallbacks.
 * - 400/404/422 → passed through: the upstream's status, type, code and param, the message
 *   prefixed with the model id; never retried, no fallback, not counted by the breaker.
 * - 429 → 429 rate_limit_exceeded with the upstream's Retry-After; not retried, no fallback.
 * - other 4xx (401, 403 ...) → 502 upstream_error: our setup for that upstream; never retried.
 */
export interface UpstreamFailure {
  error: ApiError;
  /** Worth another attempt (connect errors, 429, 5xx). */
  retryable: boolean;
  /** Says something bad about the upstream's health (the circuit breaker counts it). */
  breakerFailure: boolean;
  retryAfterMs?: number;
}

/**
 * Tells the call's breaker permit what a failed call says about the upstream: a 4xx proves it
 * is alive, so it counts as a success; connection errors, timeouts and 5xx as failures.
 */
export function settlePermit(permit: BreakerPermit, failure: UpstreamFailure): void {
  if (failure.breakerFailure) permit.failure();
  else permit.success();
}

/** Thrown from a stream the upstream cut after it started: what arrived was already yielded. */
export class UpstreamStreamCutError extends PartialOutputError {
  constructor(
    message: string,
    /** Tokens already produced (estimated), so the caller can still account them. */
    partialUsage: TokenUsage,
    code: ErrorCode.UpstreamError | ErrorCode.UpstreamTimeout = ErrorCode.UpstreamError,
  ) {
    super(code, message, partialUsage);
    this.name = 'UpstreamStreamCutError';
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
const BROKEN = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED']);
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** The error's code, looking through undici's `cause` wrapping. */
export function errorCodeOf(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A transport-level error (no HTTP response) → failure. */
export function classifyTransportError(model: string, err: unknown): UpstreamFailure {
  const code = errorCodeOf(err) ?? 'unknown';
  const detail = err instanceof Error ? err.message : String(err);
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return {
      error: new ApiError(
        ErrorCode.UpstreamTimeout,
        `Upstream of model "${model}" did not accept a connection in time`,
      ),
      retryable: true,
      breakerFailure: true,
    };
  }
  if (TIMEOUTS.has(code)) {
    return {
      error: new ApiError(ErrorCode.UpstreamTimeout, `Upstream of model "${model}" did not answer in time`),
      retryable: false,
      breakerFailure: true,
    };
  }
  if (UNREACHABLE.has(code)) {
    return {
      error: new ApiError(ErrorCode.ModelUnavailable, `Upstream of model "${model}" is unreachable (${code})`),
      retryable: true,
      breakerFailure: true,
    };
  }
  const retryable = BROKEN.has(code);
  return {
    error: new ApiError(ErrorCode.UpstreamError, `Upstream of model "${model}" failed: ${code} ${detail}`.trim()),
    retryable,
    breakerFailure: true,
  };
}

/** Reading or parsing a 2xx body failed: a transport error, or a body that is not OpenAI's shape. */
export function classifyReadError(model: string, err: unknown): UpstreamFailure {
  if (errorCodeOf(err)) return classifyTransportError(model, err);
  const detail = err instanceof Error ? err.message : String(err);
  return {
    error: new ApiError(ErrorCode.UpstreamError, `Upstream of model "${model}" sent an unreadable response: ${detail}`),
    retryable: false,
    breakerFailure: true,
  };
}

/** Upstream statuses passed through to the client as they are (docs/api.md, upstream errors). */
const PASS_THROUGH = new Set([400, 404, 422]);

/** A non-2xx HTTP response → failure (body already read, possibly truncated). */
export function classifyStatus(
  model: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: string,
): UpstreamFailure {
  const detail = upstreamError(body);
  const suffix = detail.message ? `: ${detail.message}` : '';
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  if (PASS_THROUGH.has(status)) {
    // About this request, not the upstream's health: the same on a retry or on any fallback.
    const passThrough = { status, type: detail.type ?? errorType(status), code: detail.code };
    const message = `${model}: ${detail.message || `upstream answered HTTP ${status}`}`;
    return {
      error: new ApiError(ErrorCode.UpstreamError, message, detail.param, {}, passThrough),
      retryable: false,
      breakerFailure: false,
    };
  }
  if (status === 429) {
    // The upstream's limit for this request's account: waiting helps, another attempt now does not.
    const seconds = retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(retryAfterMs / 1000));
    return {
      error: new ApiError(
        ErrorCode.RateLimitExceeded,
        `Upstream of model "${model}" is rate limiting (HTTP 429)${suffix}`,
        null,
        seconds === undefined ? {} : { 'Retry-After': String(seconds) },
      ),
      retryable: false,
      breakerFailure: false,
      retryAfterMs,
    };
  }
  if (status >= 500 || status === 408 || status === 409) {
    return {
      error: new ApiError(ErrorCode.UpstreamError, `Upstream of model "${model}" returned HTTP ${status}${suffix}`),
      retryable: true,
      // 409 is a conflict on the upstream's side for this request, not a sign it is unwell.
      breakerFailure: status !== 409,
      retryAfterMs,
    };
  }
  // 401/403 and other 4xx: our credentials or setup for this upstream, not the client's request.
  return {
    error: new ApiError(
      ErrorCode.UpstreamError,
      `Upstream of model "${model}" rejected the request (HTTP ${status})${suffix}`,
    ),
    retryable: false,
    breakerFailure: false,
  };
}

interface UpstreamErrorDetail {
  message: string;
  type?: string;
  code: string | null;
  param: string | null;
}

/** OpenAI's `{error: {message, type, code, param}}`, or the message of another usual shape. */
export function upstreamError(body: string): UpstreamErrorDetail {
  const detail: UpstreamErrorDetail = { message: upstreamMessage(body), code: null, param: null };
  try {
    const err = (JSON.parse(body) as { error?: unknown }).error;
    if (err && typeof err === 'object') {
      const e = err as Record<string, unknown>;
      if (typeof e.type === 'string') detail.type = e.type.slice(0, 100);
      if (typeof e.code === 'string' || typeof e.code === 'number') detail.code = String(e.code).slice(0, 100);
      if (typeof e.param === 'string') detail.param = e.param.slice(0, 200);
    }
  } catch {
    // not JSON: the message is all there is
  }
  return detail;
}

/** OpenAI-style `{error: {message}}`, `{error: "..."}`, `{message}` or `{detail}`, else raw text. */
export function upstreamMessage(body: string): string {
  const text = body.trim();
  if (text === '') return '';
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const err = parsed.error;
    if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') {
      return (err as { message: string }).message.slice(0, 500);
    }
    for (const candidate of [err, parsed.message, parsed.detail]) {
      if (typeof candidate === 'string') return candidate.slice(0, 500);
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, 500);
}

export function isAbortError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { name?: unknown; code?: unknown };
  return e.name === 'AbortError' || e.code === 'UND_ERR_ABORTED' || e.code === 'ABORT_ERR';
}

/** Bytes of an upstream's error body kept for the message. */
export const MAX_ERROR_BODY = 64 * 1024;

/** Reads an error body up to a cap (an upstream may send megabytes of HTML), then drops the rest. */
export async function readCapped(body: AsyncIterable<unknown> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= MAX_ERROR_BODY) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY);
}
