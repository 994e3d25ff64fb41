import { ERROR_STATUS, ErrorCode, errorType } from './error-code';

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
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_STATUS[code];
  }

  static invalid(message: string, param: string | null = null): ApiError {
    return new ApiError(ErrorCode.InvalidRequest, message, param);
  }

  toBody(): { error: { message: string; type: string; param: string | null; code: string } } {
    return { error: { message: this.message, type: errorType(this.status), param: this.param, code: this.code } };
  }
}
