import type { RequestLogFields } from '../metrics/request-annotations';
import type { AuthenticatedKey } from '../api-keys/authenticated-key';
import type { CacheSource } from '../cache/cache-request';
import type {
  ChatMessage,
  FinishReason,
  GenerateRequest,
  GenerationParams,
  StreamEvent,
  TokenUsage,
  WireObject,
} from '../models/provider.interface';
import { WireAccumulator } from '../models/wire/wire-accumulator';

export type Endpoint = '/v1/generate' | '/v1/chat/completions' | '/v1/completions' | '/v1/responses' | '/v1/embeddings';

/** One inference request, validated and normalised by its controller. */
export interface InferenceCall {
  key: AuthenticatedKey;
  endpoint: Endpoint;
  model?: string;
  prompt?: string;
  messages?: ChatMessage[];
  maxTokens?: number;
  /** Sampling and stopping, defaults applied; max_tokens is settled later (context, quota). */
  sampling: Omit<GenerationParams, 'maxTokens'>;
  user?: string;
  /** The OpenAI request body as validated (chat and completions), forwarded to remote models. */
  body?: Record<string, unknown>;
  /** The raw Cache-Control request header. */
  cacheControl?: string;
  /**
   * A call that generates nothing (/v1/embeddings): its prompt tokens, counted by the caller
   * (each input within the context). The pipeline then reserves no completion tokens and skips
   * its own count and context check.
   */
  promptTokens?: number;
  /** Output-changing fields for the cache key when there is no `body` (embeddings: dimensions, encoding). */
  cacheExtra?: Record<string, unknown>;
  requestId: string;
  /** The request-rate limiter's x-ratelimit-* headers (RequestRateLimitGuard), sent with the answer. */
  rateLimitHeaders?: Record<string, string>;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** Answered as server-sent events. */
  stream: boolean;
  /**
   * Serves the call instead of the model router (no fallbacks): the /v1/responses pass-through
   * to an upstream that speaks that API (docs/api.md). Such calls also set `no-store`.
   */
  route?(req: GenerateRequest): AsyncIterable<StreamEvent>;
  /** Adds fields (model, provider, cached, prompt at debug) to the request's log line. */
  annotate?(fields: RequestLogFields): void;
}

/** Accepted and started: the first event is already in hand, so the HTTP status is 200. */
export interface InferenceRun {
  id: string;
  created: number;
  /** The model that answers (a fallback when the requested one failed). */
  model: string;
  cache: CacheSource;
  /** Rate-limit, quota and cache headers for the response. */
  headers: Record<string, string>;
  startedAt: number;
  /** Deltas then one `done`. Must be consumed to the end or `return()`ed. */
  events: AsyncIterableIterator<StreamEvent>;
  /** Counts an error that had to be sent inside the stream (the filter never sees it). */
  onStreamError?(code: string): void;
}

export interface Completed {
  text: string;
  finishReason: FinishReason;
  usage: TokenUsage;
  /** The upstream's whole completion (as sent, or joined from its chunks), when there is one. */
  wire?: WireObject;
  /** The upstream's usage object, when it is what was charged. */
  wireUsage?: WireObject;
}

/** Drains a run (non-streaming responses); a streamed upstream answer is joined into a whole. */
export async function collect(run: InferenceRun): Promise<Completed> {
  let text = '';
  let whole: WireObject | undefined;
  let acc: WireAccumulator | undefined;
  for await (const e of run.events) {
    if (e.type === 'delta') {
      text += e.text;
      if (e.whole) whole = e.whole;
      else if (e.chunk) (acc ??= new WireAccumulator()).add(e.chunk);
    } else {
      const wire = whole ?? acc?.whole();
      return { text, finishReason: e.finishReason, usage: e.usage, wire, wireUsage: e.wireUsage };
    }
  }
  throw new Error('the model ended without a result');
}

/** A content part as the schema lets it through: only text parts carry text we count. */
export type ContentPart = { type: string; text?: unknown };

export function messageText(content: string | ContentPart[] | null | undefined): string {
  if (content == null) return '';
  return typeof content === 'string'
    ? content
    : content.map((p) => (p.type === 'text' && typeof p.text === 'string' ? p.text : '')).join('');
}
