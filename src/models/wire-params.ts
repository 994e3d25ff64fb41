/**
 * Which request fields reach a model (docs/api.md, wire fidelity): remote models get the client's
 * body as sent, filtered by the model's `params` / `drop_params` (models.yaml); local models
 * refuse what their engine cannot honour instead of ignoring it.
 */

/** models.yaml `params`: what happens to a request field this server does not know. */
export type ParamsMode = 'forward' | 'drop' | 'strict';

/** Every field of OpenAI's Chat Completions and legacy Completions requests, and our extensions. */
const KNOWN_FIELDS = new Set([
  'model',
  'messages',
  'prompt',
  'stream',
  'stream_options',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'top_k',
  'repetition_penalty',
  'stop',
  'seed',
  'n',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'logprobs',
  'top_logprobs',
  'user',
  'metadata',
  'store',
  'service_tier',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'functions',
  'function_call',
  'response_format',
  'reasoning_effort',
  'verbosity',
  'prediction',
  'modalities',
  'audio',
  'web_search_options',
  'safety_identifier',
  'prompt_cache_key',
  'echo',
  'suffix',
  'best_of',
]);

/** The first top-level field of the body this server does not know, if any. */
export function firstUnknownField(body: Record<string, unknown>): string | undefined {
  return Object.keys(body).find((k) => !KNOWN_FIELDS.has(k));
}

/** The body without the fields the model's `params` / `drop_params` remove (a shallow copy). */
export function forwardableBody(
  body: Record<string, unknown>,
  mode: ParamsMode,
  dropParams: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (dropParams.includes(k)) continue;
    if (mode !== 'forward' && !KNOWN_FIELDS.has(k)) continue;
    out[k] = v;
  }
  return out;
}

/**
 * The sampling and stopping fields every engine honours through GenerationParams: a local model
 * accepts them, and the cache key covers them through its params (src/gateway/forwarded-params.ts).
 */
export const HONOURED_SAMPLING = ['max_tokens', 'temperature', 'top_p', 'top_k', 'repetition_penalty', 'stop', 'seed'];

/** Informational or already-honoured fields a local model accepts (and may ignore). */
const LOCAL_ACCEPTED = new Set([
  ...HONOURED_SAMPLING,
  'model',
  'messages',
  'prompt',
  'stream',
  'stream_options',
  'max_completion_tokens',
  'user',
  'metadata',
  'store',
  'service_tier',
  'prompt_cache_key',
  'safety_identifier',
  'parallel_tool_calls',
  // The engine's own features (docs/local-models-api.md); values are checked there.
  'n',
  'logprobs',
  'top_logprobs',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'tools',
  'tool_choice',
  'response_format',
]);

const isNeutral = (v: unknown): boolean => v === undefined || v === null;
const isEmpty = (v: unknown): boolean =>
  isNeutral(v) ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && v !== null && Object.keys(v).length === 0);

/** Per field, whether its value is neutral (changes nothing) for a local model. */
const LOCAL_NEUTRAL: Record<string, (v: unknown, body: Record<string, unknown>) => boolean> = {
  best_of: (v) => isNeutral(v) || v === 1,
  echo: (v) => isNeutral(v) || v === false,
  suffix: (v) => isNeutral(v) || v === '',
  functions: isEmpty,
  function_call: (v, body) => isNeutral(v) || v === 'none' || (v === 'auto' && isEmpty(body.functions)),
  modalities: (v) => isNeutral(v) || (Array.isArray(v) && v.every((m) => m === 'text')),
  audio: isNeutral,
  prediction: isNeutral,
  reasoning_effort: isNeutral,
  verbosity: isNeutral,
  web_search_options: isNeutral,
};

/**
 * The first field a local model cannot honour (it would change the output), with its path;
 * undefined when every field is accepted. Unknown fields are refused too: the engine cannot
 * know what they mean.
 */
export function unsupportedLocalParam(body: Record<string, unknown>): string | undefined {
  for (const [k, v] of Object.entries(body)) {
    if (LOCAL_ACCEPTED.has(k)) continue;
    const neutral = LOCAL_NEUTRAL[k];
    if (!neutral || !neutral(v, body)) return k;
  }
  const messages = Array.isArray(body.messages) ? (body.messages as Record<string, unknown>[]) : [];
  for (const [i, m] of messages.entries()) {
    if (m.role === 'function') return `messages.${i}.role`;
    if (!isNeutral(m.function_call)) return `messages.${i}.function_call`;
    if (!isNeutral(m.audio)) return `messages.${i}.audio`;
    if (Array.isArray(m.content)) {
      const j = (m.content as { type?: unknown }[]).findIndex((p) => p.type !== 'text');
      if (j >= 0) return `messages.${i}.content.${j}`;
    }
  }
  return undefined;
}

/**
 * What a local model would refuse in this body once its `params` / `drop_params` applied: the
 * pipeline answers 400 for a requested local model, and the router skips a local fallback.
 */
export function localRefusal(
  body: Record<string, unknown>,
  cfg: { params?: ParamsMode; dropParams?: readonly string[] },
): string | undefined {
  return unsupportedLocalParam(forwardableBody(body, cfg.params ?? 'forward', cfg.dropParams ?? []));
}
