import type { FastifyReply } from 'fastify';

/**
 * Server-sent events as the Responses API frames them: `event: <type>` then `data: <json>` per
 * event, and no `[DONE]` line (the stream ends after `response.completed`, `.incomplete` or
 * `.failed`). Hijacked and unbuffered like the chat stream (gateway/http/sse.ts).
 */
export class TypedSseWriter {
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

  send(events: readonly Record<string, unknown>[]): void {
    if (!this.open || events.length === 0) return;
    this.reply.raw.write(events.map((e) => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`).join(''));
  }

  end(): void {
    if (!this.open) return;
    this.reply.raw.end();
    this.ended = true;
  }
}
