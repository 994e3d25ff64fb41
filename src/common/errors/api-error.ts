import { ERROR_STATUS, ErrorCode, errorType } from './error-code';

/**
 * An upstream's own client error (400/404/422) passed through as it was: its status, `type` and
 * `code` reach the client instead of ours (docs/api.md, upstream errors).
 */
export interface UpstreamPassThrough {
  status: number;
  type: string;
  code: string | null;
}

/** The metrics/log label of every passed-through upstream error: one value, low cardinality. */
export const UPSTREAM_CLIENT_ERROR_LABEL = 'upstream_client_error';

/**
 * The one domain exception: a stable code, a message for people, the offending parameter and
 * any headers the response must carry (Retry-After, x-quota-reset ...).
 */
export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
    /** Set only for an upstream's client error that the client must see as the upstream said it. */
    readonly passThrough?: UpstreamPassThrough,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = passThrough?.status ?? ERROR_STATUS[code];
  }

  static invalid(message: string, param: string | null = null): ApiError {
    return new ApiError(ErrorCode.InvalidRequest, message, param);
  }

  /** What metrics and logs count this error under (our code, or one label for pass-throughs). */
  get label(): string {
    return this.passThrough ? UPSTREAM_CLIENT_ERROR_LABEL : this.code;
  }

  /**
   * OpenAI's SDKs obey `x-should-retry` before their own status rules: a retry can help only for
   * a 429 or a 5xx; any 4xx (ours or passed through) would fail the same way again.
   */
  get shouldRetry(): boolean {
    return this.status === 429 || this.status >= 500;
  }

  toBody(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    const p = this.passThrough;
    return {
      error: {
        message: this.message,
        type: p ? p.type : errorType(this.status),
        param: this.param,
        code: p ? p.code : this.code,
      },
    };
  }
}
