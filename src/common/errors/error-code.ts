/** Stable error codes (the README's error table), with their HTTP status. */
export enum ErrorCode {
  InvalidRequest = 'invalid_request',
  /** A local model cannot honour a request field that would change its output (docs/api.md). */
  UnsupportedParameter = 'unsupported_parameter',
  MissingApiKey = 'missing_api_key',
  InvalidApiKey = 'invalid_api_key',
  ApiKeyInactive = 'api_key_inactive',
  Forbidden = 'forbidden',
  ModelNotAllowed = 'model_not_allowed',
  ModelNotFound = 'model_not_found',
  NotFound = 'not_found',
  QuotaExhausted = 'quota_exhausted',
  RequestTooLarge = 'request_too_large',
  RateLimitExceeded = 'rate_limit_exceeded',
  ClientClosed = 'client_closed',
  UpstreamError = 'upstream_error',
  ModelUnavailable = 'model_unavailable',
  ServiceUnavailable = 'service_unavailable',
  UpstreamTimeout = 'upstream_timeout',
  InternalError = 'internal_error',
}

export const ERROR_STATUS: Record<ErrorCode, number> = {
  [ErrorCode.InvalidRequest]: 400,
  [ErrorCode.UnsupportedParameter]: 400,
  [ErrorCode.MissingApiKey]: 401,
  [ErrorCode.InvalidApiKey]: 401,
  [ErrorCode.ApiKeyInactive]: 403,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.ModelNotAllowed]: 403,
  [ErrorCode.ModelNotFound]: 404,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.QuotaExhausted]: 402,
  [ErrorCode.RequestTooLarge]: 413,
  [ErrorCode.RateLimitExceeded]: 429,
  // nginx's "client closed request": recorded in logs and metrics, never sent (docs/limits.md).
  [ErrorCode.ClientClosed]: 499,
  [ErrorCode.UpstreamError]: 502,
  [ErrorCode.ModelUnavailable]: 503,
  [ErrorCode.ServiceUnavailable]: 503,
  [ErrorCode.UpstreamTimeout]: 504,
  [ErrorCode.InternalError]: 500,
};

/** OpenAI's `error.type` for each status family. */
export function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 402) return 'insufficient_quota';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}
