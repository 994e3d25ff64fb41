import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors/api-error';
import { sendError } from '../errors/all-exceptions.filter';
import { ErrorCode, errorType } from '../errors/error-code';

/**
 * Errors answered below Nest: Node's HTTP parser (headers over `maxHeaderSize`, bytes that are
 * not HTTP, a client too slow to send its request) and Fastify's router (a URL that does not
 * decode). Fastify's defaults answer these with their own JSON; here they get the OpenAI error
 * shape every other error has (docs/api.md, "Errors on the wire").
 */

interface ParserError extends Error {
  code?: string;
}

/** Status and error code for each parser error Node reports on 'clientError'. */
function clientErrorAnswer(err: ParserError): { status: number; code: ErrorCode; message: string } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: ErrorCode.RequestTooLarge, message: 'request headers are too large' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, code: ErrorCode.RequestTooLarge, message: 'chunk extensions are too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: ErrorCode.InvalidRequest, message: 'the request was not received in time' };
    default:
      return { status: 400, code: ErrorCode.InvalidRequest, message: 'malformed HTTP request' };
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  431: 'Request Header Fields Too Large',
};

/** Fastify's `clientErrorHandler`: the raw socket is all there is, so the answer is written by hand. */
export function clientErrorHandler(err: ParserError, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, code, message } = clientErrorAnswer(err);
  if (socket.writable) {
    const body = JSON.stringify({ error: { message, type: errorType(status), param: null, code } });
    socket.write(
      `HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Fastify's `frameworkErrors`: router errors (a URL that does not decode) before any route runs. */
export function frameworkErrors(err: Error & { code?: string }, _req: FastifyRequest, reply: FastifyReply): void {
  const message =
    err.code === 'FST_ERR_BAD_URL' ? 'the URL is not valid (a % escape does not decode)' : 'invalid request';
  sendError(reply, ApiError.invalid(message));
}

/**
 * Fastify's `return503OnClosing` answers requests that arrive on open connections during
 * shutdown with its own fixed JSON; this hook gives them `503 service_unavailable` in the OpenAI
 * shape instead (the adapter is created with `return503OnClosing: false`).
 */
export function answerWhileClosing(fastify: FastifyInstance): void {
  let listened = false;
  fastify.server.once('listening', () => (listened = true));
  // A callback hook (no promise per request); answering from it means not calling done().
  fastify.addHook('onRequest', (_req, reply, done) => {
    if (!listened || fastify.server.listening) return done();
    reply.header('connection', 'close');
    sendError(
      reply,
      new ApiError(ErrorCode.ServiceUnavailable, 'the server is shutting down: retry the request', null, {
        'retry-after': '1',
      }),
    );
  });
}
