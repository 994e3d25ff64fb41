import { ApiError } from '../common/errors/api-error';
import type { ErrorCode } from '../common/errors/error-code';
import type { TokenUsage } from './provider.interface';

/**
 * A provider failed after it had produced output, and knows what that output cost: the
 * settlement charges `partialUsage` instead of recounting the text (docs/limits.md).
 */
export class PartialOutputError extends ApiError {
  constructor(
    code: ErrorCode,
    message: string,
    /** Tokens already produced (possibly estimated, then `estimated: true`). */
    readonly partialUsage: TokenUsage,
  ) {
    super(code, message);
    this.name = 'PartialOutputError';
  }
}
