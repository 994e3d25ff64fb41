import { ErrorCode } from '../../common/errors/error-code';

/** What every inference endpoint may answer beyond the key's own errors (KeyEndpoint): the OpenAPI error responses. */
export const INFERENCE_ERRORS = [
  ErrorCode.UnsupportedParameter,
  ErrorCode.ModelNotAllowed,
  ErrorCode.ModelNotFound,
  ErrorCode.QuotaExhausted,
  ErrorCode.RequestTooLarge,
  ErrorCode.RateLimitExceeded,
  ErrorCode.UpstreamError,
  ErrorCode.ModelUnavailable,
  ErrorCode.UpstreamTimeout,
] as const;
