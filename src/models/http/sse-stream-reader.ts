import type { Readable } from 'node:stream';
import { parseChunk, type UpstreamUsage } from './openai-wire';
import type { FinishReason, WireObject } from '../provider.interface';
import { SseParser } from './sse-parser';

/** What the upstream's stream produced, item by item. */
export type WireItem =
  /** A chunk with choices: its generated text, and the chunk as it came. */
  | { kind: 'delta'; text: string; chunk: WireObject }
  | { kind: 'meta'; finishReason?: FinishReason; usage?: UpstreamUsage; rawUsage?: WireObject }
  | { kind: 'done' }
  | { kind: 'error'; message: string };

/**
 * Turns an OpenAI-style SSE body into wire items. Reads with a manual iterator (not for-await)
 * so that stopping at `[DONE]` does not destroy the socket: the rest is drained instead and the
 * keep-alive connection goes back to the pool.
 */
export async function* readSse(body: Readable): AsyncGenerator<WireItem> {
  const parser = new SseParser();
  const it = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  for (;;) {
    const next = await it.next();
    const events = next.done ? parser.end() : parser.push(next.value);
    for (const ev of events) {
      for (const item of toItems(ev.event, ev.data)) {
        yield item;
        if (item.kind === 'error') return;
        if (item.kind === 'done') {
          await drain(it, 1000);
          return;
        }
      }
    }
    if (next.done) return;
  }
}

function toItems(event: string, data: string): WireItem[] {
  if (data.trim() === '[DONE]') return [{ kind: 'done' }];
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    // Not JSON: an error event carries text; anything else (keep-alive noise) is skipped.
    return event === 'error' ? [{ kind: 'error', message: data.slice(0, 500) }] : [];
  }
  const chunk = parseChunk(json);
  if (chunk.error !== undefined || event === 'error')
    return [{ kind: 'error', message: chunk.error ?? data.slice(0, 500) }];
  const items: WireItem[] = [];
  // One chunk may carry text and the finish reason / usage together (llama.cpp, vLLM).
  if (chunk.hasChoices) items.push({ kind: 'delta', text: chunk.delta, chunk: json as WireObject });
  if (chunk.finishReason || chunk.usage)
    items.push({ kind: 'meta', finishReason: chunk.finishReason, usage: chunk.usage, rawUsage: chunk.rawUsage });
  return items;
}

/** Reads what is left after `[DONE]` (normally just the end of the chunked body), briefly. */
async function drain(it: AsyncIterator<Buffer>, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), maxMs);
  });
  try {
    while (Date.now() < deadline) {
      const r = await Promise.race([it.next(), timeout]);
      if (r === 'timeout' || r.done) break;
    }
  } catch {
    // The answer is complete; a socket error now only costs the keep-alive connection.
  } finally {
    clearTimeout(timer);
  }
}
