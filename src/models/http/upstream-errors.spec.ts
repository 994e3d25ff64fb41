import { ErrorCode } from '../../common/errors/error-code';
import { classifyStatus, classifyTransportError, upstreamMessage } from './upstream-errors';

describe('upstream error mapping', () => {
  it('maps statuses to codes, retryability and breaker accounting', () => {
    expect(classifyStatus('m', 500, {}, '')).toMatchObject({ retryable: true, breakerFailure: true, error: { code: ErrorCode.UpstreamError } });
    expect(classifyStatus('m', 429, { 'retry-after': '2' }, '')).toMatchObject({
      retryable: true,
      retryAfterMs: 2_000,
      error: { code: ErrorCode.ModelUnavailable, headers: { 'Retry-After': '2' } },
    });
    expect(classifyStatus('m', 404, {}, '{"error":{"message":"model x not found"}}')).toMatchObject({
      retryable: false,
      breakerFailure: false,
      error: { code: ErrorCode.UpstreamError, message: expect.stringContaining('model x not found') },
    });
  });

  it('maps transport errors, looking through `cause`', () => {
    const refused = Object.assign(new Error('fetch failed'), { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) });
    expect(classifyTransportError('m', refused)).toMatchObject({ retryable: true, error: { code: ErrorCode.ModelUnavailable } });
    expect(classifyTransportError('m', { code: 'UND_ERR_HEADERS_TIMEOUT' })).toMatchObject({ retryable: false, error: { code: ErrorCode.UpstreamTimeout } });
    expect(classifyTransportError('m', { code: 'UND_ERR_CONNECT_TIMEOUT' })).toMatchObject({ retryable: true, error: { code: ErrorCode.UpstreamTimeout } });
    expect(classifyTransportError('m', { code: 'ECONNRESET' })).toMatchObject({ retryable: true, error: { code: ErrorCode.UpstreamError } });
  });

  it('extracts the upstream message from the usual body shapes', () => {
    expect(upstreamMessage('{"error":{"message":"a"}}')).toBe('a');
    expect(upstreamMessage('{"error":"b"}')).toBe('b');
    expect(upstreamMessage('{"detail":"c"}')).toBe('c');
    expect(upstreamMessage('<html>bad gateway</html>')).toBe('<html>bad gateway</html>');
  });
});
