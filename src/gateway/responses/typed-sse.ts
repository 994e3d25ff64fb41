import { EventStreamWriter } from '../http/sse';

/**
 * Server-sent events as the Responses API frames them: `event: <type>` then `data: <json>` per
 * event, and no `[DONE]` line (the stream ends after `response.completed`, `.incomplete` or
 * `.failed`).
 */
export class TypedSseWriter extends EventStreamWriter {
  send(events: readonly Record<string, unknown>[]): void {
    if (events.length === 0) return;
    this.write(events.map((e) => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`).join(''));
  }

  end(): void {
    this.close();
  }
}
