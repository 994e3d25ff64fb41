import { ApiCallError, type ApiClient, failureFromBody } from './api-client';
import { SseParser } from './sse';

export type Mode = 'prompt' | 'chat';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface CompletionParams {
  model?: string;
  temperature: number;
  maxTokens: number;
  seed?: number;
  stream: boolean;
  /** Sends `Cache-Control: no-cache` (the server then neither reads nor writes its cache). */
  noCache: boolean;
}

export interface CompletionRequest {
  mode: Mode;
  /** Prompt mode. */
  prompt?: string;
  /** Chat mode. */
  messages?: ChatMessage[];
  params: CompletionParams;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface RateLimitInfo {
  limit: string;
  remaining: string;
  reset: string | null;
}

export interface CompletionResult {
  text: string;
  model: string | null;
  finishReason: string | null;
  usage: Usage | null;
  /** `x-cache`: hit | miss | bypass. */
  cache: string | null;
  requestId: string | null;
  /** Send → last byte, measured here. */
  latencyMs: number;
  /** Send → first non-empty text, measured here (null when no text came). */
  ttftMs: number | null;
  /** What the server reports (`/v1/generate` only). */
  serverLatencyMs: number | null;
  rateLimit: RateLimitInfo | null;
}

/**
 * One completion through the public API: prompt mode uses `/v1/generate`, chat mode
 * `/v1/chat/completions` (with `include_usage` when streaming). `onDelta` sees every piece of text
 * as it arrives. A failure before or during the stream throws ApiCallError (the text streamed so
 * far has already been handed to `onDelta`).
 */
export async function runCompletion(
  client: ApiClient,
  req: CompletionRequest,
  onDelta: (text: string) => void,
  opts: { signal?: AbortSignal; now?: () => number } = {},
): Promise<CompletionResult> {
  const now = opts.now ?? (() => performance.now());
  const started = now();
  const { path, body } = requestFor(req);
  const res = await client.send('POST', path, {
    body,
    headers: req.params.noCache ? { 'cache-control': 'no-cache' } : undefined,
    signal: opts.signal,
  });
  const result: CompletionResult = {
    text: '',
    model: null,
    finishReason: null,
    usage: null,
    cache: res.headers.get('x-cache'),
    requestId: res.headers.get('x-request-id'),
    latencyMs: 0,
    ttftMs: null,
    serverLatencyMs: null,
    rateLimit: rateLimitFrom(res.headers),
  };
  const emit = (piece: string) => {
    if (!piece) return;
    if (result.ttftMs === null) result.ttftMs = now() - started;
    result.text += piece;
    onDelta(piece);
  };
  const contentType = res.headers.get('content-type') ?? '';
  if (req.params.stream && contentType.includes('text/event-stream') && res.body) {
    await readStream(res.body, req.mode, result, emit, result.requestId);
  } else {
    absorb(req.mode, (await res.json()) as WireChunk, result, emit);
  }
  result.latencyMs = now() - started;
  return result;
}

function requestFor(req: CompletionRequest): { path: string; body: Record<string, unknown> } {
  const p = req.params;
  const common: Record<string, unknown> = { max_tokens: p.maxTokens, temperature: p.temperature, stream: p.stream };
  if (p.model) common.model = p.model;
  if (p.seed !== undefined) common.seed = p.seed;
  if (req.mode === 'prompt') return { path: 'v1/generate', body: { prompt: req.prompt ?? '', ...common } };
  return {
    path: 'v1/chat/completions',
    body: { messages: req.messages ?? [], ...common, ...(p.stream && { stream_options: { include_usage: true } }) },
  };
}

async function readStream(
  body: ReadableStream<Uint8Array>,
  mode: Mode,
  result: CompletionResult,
  emit: (text: string) => void,
  requestId: string | null,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  let done = false;
  try {
    for (;;) {
      const chunk = await reader.read();
      const events = chunk.done
        ? parser.push(decoder.decode() + '\n\n')
        : parser.push(decoder.decode(chunk.value, { stream: true }));
      for (const data of events) {
        if (data === '[DONE]') {
          done = true;
          continue;
        }
        const event = JSON.parse(data) as Record<string, unknown>;
        if (event.error) {
          const failure = failureFromBody(200, data);
          throw new ApiCallError({ ...failure, requestId });
        }
        absorb(mode, event, result, emit);
      }
      if (chunk.done) break;
    }
  } finally {
    reader.releaseLock();
  }
  if (!done) {
    throw new ApiCallError({
      status: 200,
      code: 'stream_incomplete',
      message: 'the stream ended before [DONE]',
      requestId,
    });
  }
}

/** What the playground reads of an answer or stream chunk, in either endpoint's shape. */
interface WireChunk {
  model?: unknown;
  usage?: unknown;
  text?: unknown;
  finish_reason?: string | null;
  latency_ms?: unknown;
  choices?: { delta?: { content?: unknown }; message?: { content?: unknown }; finish_reason?: string | null }[];
}

/** Folds one JSON answer or stream chunk (either endpoint's shape) into the result. */
function absorb(
  mode: Mode,
  chunk: WireChunk | undefined,
  result: CompletionResult,
  emit: (text: string) => void,
): void {
  if (typeof chunk?.model === 'string') result.model = chunk.model;
  if (chunk?.usage) result.usage = chunk.usage as Usage;
  if (mode === 'prompt') {
    emit(typeof chunk?.text === 'string' ? chunk.text : '');
    if (chunk?.finish_reason) result.finishReason = chunk.finish_reason;
    if (typeof chunk?.latency_ms === 'number') result.serverLatencyMs = chunk.latency_ms;
    return;
  }
  const choice = Array.isArray(chunk?.choices) ? chunk.choices[0] : undefined;
  if (!choice) return;
  const content = choice.delta?.content ?? choice.message?.content;
  emit(typeof content === 'string' ? content : '');
  if (choice.finish_reason) result.finishReason = choice.finish_reason;
}

function rateLimitFrom(headers: Headers): RateLimitInfo | null {
  const limit = headers.get('x-ratelimit-limit-requests');
  const remaining = headers.get('x-ratelimit-remaining-requests');
  if (limit === null || remaining === null) return null;
  return { limit, remaining, reset: headers.get('x-ratelimit-reset-requests') };
}
