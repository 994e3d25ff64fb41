import type { ResponsesBody } from './responses.schemas';

type Json = Record<string, unknown>;

/** The identity of one answer: our ids, the answering model, the time it started. */
export interface ResponseIdentity {
  /** Without prefix: `resp_`, `msg_` and `fc_` ids are built from it. */
  id: string;
  model: string;
  createdAt: number;
}

/**
 * The Response object before any output, with the request's settings echoed as OpenAI echoes
 * them (defaults filled in). `response.created` carries it, and the final object extends it.
 */
export function responseBase(who: ResponseIdentity, body: ResponsesBody): Json {
  return {
    id: `resp_${who.id}`,
    object: 'response',
    created_at: who.createdAt,
    status: 'in_progress',
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    max_tool_calls: null,
    model: who.model,
    output: [],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: null,
    prompt_cache_key: body.prompt_cache_key ?? null,
    reasoning: { effort: body.reasoning?.effort ?? null, summary: body.reasoning?.summary ?? null },
    safety_identifier: body.safety_identifier ?? null,
    service_tier: body.service_tier ?? 'default',
    store: false,
    temperature: body.temperature ?? 1,
    text: { format: body.text?.format ?? { type: 'text' }, verbosity: body.text?.verbosity ?? 'medium' },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_logprobs: body.top_logprobs ?? 0,
    top_p: body.top_p ?? 1,
    truncation: body.truncation ?? 'disabled',
    usage: null,
    user: body.user ?? null,
    metadata: body.metadata ?? {},
  };
}

/** A chat completion's `usage` (details included when the model reported them) in Responses terms. */
export function responsesUsage(chat: unknown): Json | null {
  if (!chat || typeof chat !== 'object') return null;
  const u = chat as {
    prompt_tokens?: number;
    completion_tokens?: number;
    prompt_tokens_details?: { cached_tokens?: number } | null;
    completion_tokens_details?: { reasoning_tokens?: number } | null;
  };
  const input = u.prompt_tokens ?? 0;
  const output = u.completion_tokens ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: u.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: u.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: input + output,
  };
}
