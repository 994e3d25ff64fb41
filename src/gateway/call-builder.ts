import type { FastifyRequest } from 'fastify';
import type { AuthenticatedKey } from '../api-keys/authenticated-key';
import type { ChatMessage } from '../models/provider.interface';
import { annotateRequest } from '../metrics/request-annotations';
import { type ContentPart, type Endpoint, type InferenceCall, messageText } from './inference-call';
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
  input: {
    prompt?: string;
    messages?: ChatMessage[];
    maxTokens?: number | null;
    stream?: boolean | null;
    /** The OpenAI body to forward (chat and completions only). */
    body?: Record<string, unknown>;
  },
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
    body: input.body,
    cacheControl: typeof cacheControl === 'string' ? cacheControl : undefined,
    requestId: req.id,
    rateLimitHeaders: rateLimitHeadersOf(req),
    signal,
    stream: input.stream === true,
    annotate: (fields) => annotateRequest(req, fields),
  };
}

interface WireMessage {
  role: ChatMessage['role'] | 'function';
  content?: string | ContentPart[] | null;
  name?: string;
  tool_calls?: unknown[] | null;
}

/**
 * Our view of the messages, for local templates, prompt-token estimates and limits: text parts
 * as text, and tool calls (name and arguments) as text so they are counted (docs/api.md).
 */
export function toMessages(messages: WireMessage[]): ChatMessage[] {
  return messages.map((m) => {
    const calls = (m.tool_calls ?? []).map(toolCallText).filter(Boolean);
    const text = [messageText(m.content), ...calls].filter(Boolean).join('\n');
    return { role: m.role === 'function' ? 'tool' : m.role, content: text, ...(m.name ? { name: m.name } : {}) };
  });
}

/** A tool call's name and arguments, whatever shape it has (function or custom). */
function toolCallText(call: unknown): string {
  if (!call || typeof call !== 'object') return '';
  const c = call as {
    function?: { name?: unknown; arguments?: unknown };
    custom?: { name?: unknown; input?: unknown };
  };
  const parts = [c.function?.name, c.function?.arguments, c.custom?.name, c.custom?.input];
  return parts.filter((p): p is string => typeof p === 'string').join(' ');
}

/** A completions prompt as one text: a list of prompts joined (token ids are not text). */
export function promptText(prompt: string | string[] | number[] | number[][]): string {
  if (typeof prompt === 'string') return prompt;
  return prompt
    .map((p) => (typeof p === 'string' ? p : Array.isArray(p) ? p.map(String).join(' ') : String(p)))
    .join('\n');
}
