import type { FastifyRequest } from 'fastify';
import type { AuthenticatedKey } from '../api-keys/authenticated-key';
import type { ChatMessage } from '../models/provider.interface';
import { annotateRequest } from '../metrics/request-annotations';
import { type Endpoint, type InferenceCall, messageText } from './inference-call';
import { rateLimitHeadersOf } from './http/request-rate-limit.guard';

interface SamplingBody {
  model?: string;
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  repetition_penalty?: number | null;
  stop?: string | string[] | null;
  seed?: number | null;
  user?: string;
}

/** Applies OpenAI's defaults (temperature 1, top_p 1) and ours (top_k off, no repetition penalty). */
export function buildCall(
  endpoint: Endpoint,
  body: SamplingBody,
  input: { prompt?: string; messages?: ChatMessage[]; maxTokens?: number | null; stream?: boolean | null },
  key: AuthenticatedKey,
  req: FastifyRequest,
  signal: AbortSignal,
): InferenceCall {
  const stop = body.stop == null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop;
  const cacheControl = req.headers['cache-control'];
  return {
    key,
    endpoint,
    model: body.model,
    prompt: input.prompt,
    messages: input.messages,
    maxTokens: input.maxTokens ?? undefined,
    sampling: {
      temperature: body.temperature ?? 1,
      topP: body.top_p ?? 1,
      topK: body.top_k ?? 0,
      repetitionPenalty: body.repetition_penalty ?? 1,
      stop,
      seed: body.seed ?? undefined,
    },
    user: body.user,
    cacheControl: typeof cacheControl === 'string' ? cacheControl : undefined,
    requestId: req.id,
    rateLimitHeaders: rateLimitHeadersOf(req),
    signal,
    stream: input.stream === true,
    annotate: (fields) => annotateRequest(req, fields),
  };
}

export function toMessages(
  messages: { role: ChatMessage['role']; content?: string | { type: 'text'; text: string }[] | null; name?: string }[],
): ChatMessage[] {
  return messages.map((m) => ({ role: m.role, content: messageText(m.content), ...(m.name ? { name: m.name } : {}) }));
}
