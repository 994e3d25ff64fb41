import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './api-error';
import { ErrorCode } from './error-code';

/** Fastify's own errors (body parsing, limits) carry a code we translate to our error codes (docs/api.md). */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ErrorCode.RequestTooLarge,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ErrorCode.InvalidRequest,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ErrorCode.InvalidRequest,
  FST_ERR_CTP_EMPTY_JSON_BODY: ErrorCode.InvalidRequest,
  FST_ERR_CTP_INVALID_JSON_BODY: ErrorCode.InvalidRequest,
};

/** Maps anything thrown to the OpenAI-shaped error body (docs/api.md); unknown errors become a 500. */
export function toApiError(err: unknown, logger?: Logger, requestId?: string): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HttpException) {
    const status = err.getStatus();
    if (status === 404) return new ApiError(ErrorCode.NotFound, notFoundMessage(err));
    if (status === 413) return new ApiError(ErrorCode.RequestTooLarge, 'request body is too large');
    if (status === 403) return new ApiError(ErrorCode.Forbidden, err.message);
    if (status === 401) return new ApiError(ErrorCode.InvalidApiKey, err.message);
    if (status === 429) return new ApiError(ErrorCode.RateLimitExceeded, err.message);
    if (status >= 400 && status < 500) return ApiError.invalid(err.message);
    if (status === 503) return new ApiError(ErrorCode.ServiceUnavailable, err.message);
  }
  const e = err as { code?: string; statusCode?: number; message?: string; type?: string };
  if (e && typeof e.code === 'string' && FASTIFY_CODES[e.code]) {
    const code = FASTIFY_CODES[e.code];
    return new ApiError(
      code,
      code === ErrorCode.RequestTooLarge ? 'request body is too large' : `invalid request body: ${e.message}`,
    );
  }
  // JSON syntax errors from the body parser (Fastify marks them 400).
  if (e && e.statusCode === 400 && err instanceof SyntaxError)
    return ApiError.invalid(`malformed JSON body: ${e.message}`);
  if (e && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    if (e.statusCode === 413) return new ApiError(ErrorCode.RequestTooLarge, 'request body is too large');
    return ApiError.invalid(e.message ?? 'invalid request');
  }
  if (isDatabaseDown(err))
    return new ApiError(ErrorCode.ServiceUnavailable, 'the database is unavailable; try again shortly', null, {
      'retry-after': '1',
    });
  // Safety net behind the DTOs' checks (docs/api.md): PostgreSQL refused a value for what it is
  // (SQLSTATE class 22, data exception), so the input was at fault, not the server.
  const sqlState = sqlStateOf(err);
  if (sqlState?.startsWith('22')) {
    logger?.warn(`request ${requestId ?? 'unknown'}: a value was refused by the database (SQLSTATE ${sqlState})`);
    return ApiError.invalid('a value in the request cannot be stored (out of range or not valid text)');
  }
  logger?.error({ err, request_id: requestId }, 'unhandled error');
  return new ApiError(ErrorCode.InternalError, `internal error (request id ${requestId ?? 'unknown'})`);
}

function notFoundMessage(err: HttpException): string {
  const m = err.message;
  return m.startsWith('Cannot ') ? `no such route: ${m.replace(/^Cannot /, '')}` : m;
}

function sqlStateOf(err: unknown): string | undefined {
  // TypeORM's QueryFailedError wraps pg's DatabaseError (which has a severity); both carry the SQLSTATE.
  const e = err as { code?: unknown; severity?: unknown; driverError?: { code?: unknown } } | null;
  const code = e?.driverError?.code ?? (typeof e?.severity === 'string' ? e.code : undefined);
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

function isDatabaseDown(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return (
    code === 'ECONNREFUSED' ||
    code === '57P01' ||
    code === '57P03' ||
    code === '08006' ||
    code === '08001' ||
    /Connection terminated|timeout exceeded when trying to connect/i.test(String((err as Error)?.message))
  );
}

export function sendError(reply: FastifyReply, err: ApiError): void {
  if (reply.sent || reply.raw.headersSent) return;
  // Read by the request observer: errors are counted by code, and logged, in one place.
  (reply.request as FastifyRequest & { errorCode?: string }).errorCode = err.label;
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  reply.header('x-should-retry', String(err.shouldRetry));
  const send = () =>
    reply.status(err.status).header('content-type', 'application/json; charset=utf-8').send(err.toBody());
  if (err.status === 413) afterBodyDiscarded(reply, send);
  else send();
}

/** How much of a refused body we read before answering anyway, and for how long. */
const DISCARD_MAX_BYTES = 16 * 1024 * 1024;
const DISCARD_MAX_MS = 2_000;

/**
 * A 413 answered while the client is still sending its body makes the socket close with unread
 * data, which resets the connection: the client (or nginx in front of us) often sees the reset
 * and never the answer. Read and discard the rest first (a lingering close), within bounds, and
 * close the connection after the answer.
 */
function afterBodyDiscarded(reply: FastifyReply, send: () => void): void {
  const req = reply.request.raw;
  if (req.complete || req.destroyed) return send();
  reply.header('connection', 'close');
  let seen = 0;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    req.off('data', onData);
    send();
  };
  const onData = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > DISCARD_MAX_BYTES) finish();
  };
  const timer = setTimeout(finish, DISCARD_MAX_MS);
  req.on('data', onData);
  req.once('end', finish);
  req.once('error', finish);
  req.once('close', finish);
  req.resume();
}

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const req = ctx.getRequest<FastifyRequest>();
    sendError(reply, toApiError(exception, this.logger, req?.id));
  }
}
