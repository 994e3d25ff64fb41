import type { FastifyReply } from 'fastify';
import { ApiError } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-code';
import { toApiError } from '../../common/errors/all-exceptions.filter';

/**
 * Server-sent events exactly as OpenAI frames them: `data: <json>\n\n` lines and a final
 * `data: [DONE]`. The reply is hijacked so nothing buffers; `X-Accel-Buffering: no` keeps
 * nginx from buffering either.
 */
export class SseWriter {
  private ended = false;

  constructor(
    private readonly reply: FastifyReply,
    headers: Record<string, string>,
  ) {
    reply.hijack();
    reply.raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    reply.raw.flushHeaders?.();
  }

  get open(): boolean {
    return !this.ended && !this.reply.raw.destroyed;
  }

  send(data: unknown): void {
    if (this.open) this.reply.raw.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  done(): void {
    if (!this.open) return;
    this.reply.raw.end('data: [DONE]\n\n');
    this.ended = true;
  }

  /** A stream that fails after it started ends with an error event, never a clean [DONE]. */
  fail(err: unknown): void {
    if (!this.open) return;
    const e: ApiError = toApiError(err);
    this.reply.raw.end(`data: ${JSON.stringify(e.toBody())}\n\n`);
    this.ended = true;
  }
}

/**
 * Aborts when the client goes away before the response is complete. The reason is a
 * `client_closed` error, so whatever sees it (settlement, the filter, the stream writer) records
 * a 499 rather than an internal error (docs/limits.md, "A client that hangs up").
 */
export function abortOnDisconnect(reply: FastifyReply): AbortController {
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort(clientClosed());
  });
  return controller;
}

export function clientClosed(): ApiError {
  return new ApiError(ErrorCode.ClientClosed, 'the client closed the connection before the answer was complete');
}

export function isClientClosed(err: unknown): boolean {
  return err instanceof ApiError && err.code === ErrorCode.ClientClosed;
}
