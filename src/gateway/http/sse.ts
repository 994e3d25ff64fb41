import type { FastifyReply } from 'fastify';
import { ApiError } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-code';
import { toApiError } from '../../common/errors/all-exceptions.filter';

/**
 * A hijacked `text/event-stream` answer: nothing buffers it, and `X-Accel-Buffering: no` keeps
 * nginx from buffering either. The framing is the subclass's (chat's `data:` lines, the
 * Responses API's typed events).
 */
export abstract class EventStreamWriter {
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

  protected write(text: string): void {
    if (this.open) this.reply.raw.write(text);
  }

  /** Ends the answer, with a last piece of text if given. */
  protected close(last?: string): void {
    if (!this.open) return;
    this.reply.raw.end(last);
    this.ended = true;
  }
}

/** Server-sent events exactly as OpenAI frames them: `data: <json>\n\n` lines and a final `data: [DONE]`. */
export class SseWriter extends EventStreamWriter {
  send(data: unknown): void {
    this.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  done(): void {
    this.close('data: [DONE]\n\n');
  }

  /** A stream that fails after it started ends with an error event, never a clean [DONE]. */
  fail(err: unknown): void {
    if (!this.open) return;
    const e: ApiError = toApiError(err);
    this.close(`data: ${JSON.stringify(e.toBody())}\n\n`);
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
