import { ErrorCode } from '../../common/errors/error-code';
import { classifyStatus, classifyTransportError, upstreamMessage } from './upstream-errors';

describe('upstream error mapping', () => {
  it('maps statuses to codes, retryability and breaker accounting', () => {
    expect(classifyStatus('m', 500, {}, '')).toMatchObject({
      retryable: true,
      breakerFailure: true,
      error: { code: ErrorCode.UpstreamError },
    });
    expect(classifyStatus('m', 429, { 'retry-after': '2' }, '')).toMatchObject({
      retryable: false,
      breakerFailure: false,
      retryAfterMs: 2_000,
      error: { code: ErrorCode.RateLimitExceeded, status: 429, headers: { 'Retry-After': '2' } },
    });
    for (const status of [408, 409, 502]) {
      expect(classifyStatus('m', status, {}, '')).toMatchObject({
        retryable: true,
        error: { code: ErrorCode.UpstreamError, status: 502 },
      });
    }
    expect(classifyStatus('m', 401, {}, 'nope')).toMatchObject({
      retryable: false,
      breakerFailure: false,
      error: { status: 502 },
    });
  });

  it('passes an upstream 400/404/422 through with its type, code, param and a prefixed message', () => {
    const body =
      '{"error":{"message":"model x not found","type":"invalid_request_error","code":"model_not_found","param":"model"}}';
    const failure = classifyStatus('m', 404, {}, body);
    expect(failure).toMatchObject({
      retryable: false,
      breakerFailure: false,
      error: { status: 404, label: 'upstream_client_error' },
    });
    expect(failure.error.toBody()).toEqual({
      error: {
        message: 'm: model x not found',
        type: 'invalid_request_error',
        code: 'model_not_found',
        param: 'model',
      },
    });
    expect(failure.error.shouldRetry).toBe(false);
    // A body without OpenAI's fields: the type follows the status, code and param are null.
    expect(classifyStatus('m', 422, {}, '{"detail":"bad"}').error.toBody()).toEqual({
      error: { message: 'm: bad', type: 'invalid_request_error', code: null, param: null },
    });
  });

  it('maps transport errors, looking through `cause`', () => {
    const refused = Object.assign(new Error('fetch failed'), {
      cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
    });
    expect(classifyTransportError('m', refused)).toMatchObject({
      retryable: true,
      error: { code: ErrorCode.ModelUnavailable },
    });
    expect(classifyTransportError('m', { code: 'UND_ERR_HEADERS_TIMEOUT' })).toMatchObject({
      retryable: false,
      error: { code: ErrorCode.UpstreamTimeout },
    });
    expect(classifyTransportError('m', { code: 'UND_ERR_CONNECT_TIMEOUT' })).toMatchObject({
      retryable: true,
      error: { code: ErrorCode.UpstreamTimeout },
    });
    expect(classifyTransportError('m', { code: 'ECONNRESET' })).toMatchObject({
      retryable: true,
      error: { code: ErrorCode.UpstreamError },
    });
  });

  it('extracts the upstream message from the usual body shapes', () => {
    expect(upstreamMessage('{"error":{"message":"a"}}')).toBe('a');
    expect(upstreamMessage('{"error":"b"}')).toBe('b');
    expect(upstreamMessage('{"detail":"c"}')).toBe('c');
    expect(upstreamMessage('<html>bad gateway</html>')).toBe('<html>bad gateway</html>');
  });
});
