import type { FinishReason, GenerateRequest, WireObject } from '../provider.interface';
import { generatedText } from '../wire/wire-splitter';
import { forwardableBody, type ParamsMode } from '../wire-params';

/** The OpenAI-compatible wire format: request bodies out, responses and stream chunks in. */
export interface WireOptions {
  upstreamModel: string;
  /** Send `top_k` / `repetition_penalty` (vLLM, TGI and llama.cpp accept them; OpenAI refuses). */
  extendedSampling: boolean;
  /** models.yaml `params` and `drop_params`: what happens to fields we do not know. */
  params?: ParamsMode;
  dropParams?: readonly string[];
  /** Where a cap the client did not send goes (models.yaml `max_tokens_field`). */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
}

export interface UpstreamUsage {
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens?: number;
  reasoningTokens?: number;
}

export function endpointFor(req: GenerateRequest): '/chat/completions' | '/completions' {
  return req.messages ? '/chat/completions' : '/completions';
}

export function buildBody(req: GenerateRequest, opts: WireOptions, stream: boolean): Record<string, unknown> {
  if (req.body) return forwardedBody(req, req.body, opts, stream);
  const p = req.params;
  const body: Record<string, unknown> = { model: opts.upstreamModel };
  if (req.messages) {
    body.messages = req.messages.map((m) =>
      m.name ? { role: m.role, content: m.content, name: m.name } : { role: m.role, content: m.content },
    );
  } else {
    body.prompt = req.prompt ?? '';
  }
  body.max_tokens = p.maxTokens;
  body.temperature = p.temperature;
  body.top_p = p.topP;
  if (p.stop.length > 0) body.stop = p.stop;
  if (p.seed !== undefined) body.seed = p.seed;
  if (opts.extendedSampling) {
    // Only sent when they change something, so "off" never trips a stricter upstream.
    if (p.topK > 0) body.top_k = p.topK;
    if (p.repetitionPenalty !== 1) body.repetition_penalty = p.repetitionPenalty;
  }
  if (req.user) body.user = req.user;
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return body;
}

/**
 * The client's body as sent (docs/api.md, wire fidelity), with only what we must own changed:
 * `model` (the upstream's name), the token cap when the quota or context lowered it (in the
 * field the client used), a cap the client did not send only when a finite quota needs the bound
 * (in `max_tokens_field`), usage in streams for our accounting, and our vLLM-style extras left
 * out unless the model enables them.
 */
function forwardedBody(
  req: GenerateRequest,
  sent: Record<string, unknown>,
  opts: WireOptions,
  stream: boolean,
): Record<string, unknown> {
  const body = forwardableBody(sent, opts.params ?? 'forward', opts.dropParams ?? []);
  body.model = opts.upstreamModel;
  const cap = req.params.maxTokens;
  const sentField =
    typeof body.max_completion_tokens === 'number'
      ? 'max_completion_tokens'
      : typeof body.max_tokens === 'number'
        ? 'max_tokens'
        : undefined;
  if (sentField !== undefined) {
    if ((body[sentField] as number) > cap) body[sentField] = cap;
  } else if (req.boundCap) body[opts.maxTokensField ?? 'max_tokens'] = cap;
  if (!opts.extendedSampling) {
    delete body.top_k;
    delete body.repetition_penalty;
  }
  if (stream) {
    body.stream = true;
    const options = body.stream_options && typeof body.stream_options === 'object' ? body.stream_options : {};
    body.stream_options = { ...options, include_usage: true };
  } else {
    delete body.stream_options;
    if (body.stream !== undefined && body.stream !== null) body.stream = false;
  }
  return body;
}

const OPENAI_REASONS = new Set(['stop', 'length', 'tool_calls', 'content_filter', 'function_call']);

/** OpenAI's reasons pass as sent; anything else (`eos` ...) reads as `stop`. */
export function mapFinishReason(reason: unknown): FinishReason {
  return typeof reason === 'string' && OPENAI_REASONS.has(reason) ? reason : 'stop';
}

/**
 * An upstream's usage, when it is believable: counts that are not whole non-negative numbers
 * are ignored (the caller then counts with a tokenizer), so the client is never told a figure
 * the quota ledger could not charge (docs/limits.md). Cached and reasoning tokens come from
 * the details when present (they are already inside prompt and completion tokens).
 */
export function parseUsage(raw: unknown): UpstreamUsage | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const u = raw as {
    prompt_tokens?: unknown;
    completion_tokens?: unknown;
    prompt_tokens_details?: { cached_tokens?: unknown } | null;
    completion_tokens_details?: { reasoning_tokens?: unknown } | null;
  };
  if (!isCount(u.prompt_tokens) || !isCount(u.completion_tokens)) return undefined;
  const out: UpstreamUsage = { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens };
  const cached = u.prompt_tokens_details?.cached_tokens;
  const reasoning = u.completion_tokens_details?.reasoning_tokens;
  if (isCount(cached) && cached <= out.promptTokens) out.cachedPromptTokens = cached;
  if (isCount(reasoning) && reasoning <= out.completionTokens) out.reasoningTokens = reasoning;
  return out;
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

export interface ParsedCompletion {
  /** Every choice's generated text (see generatedText). */
  text: string;
  finishReason: FinishReason;
  usage?: UpstreamUsage;
  /** The upstream's `usage` object as sent, when `usage` was read from it. */
  rawUsage?: WireObject;
}

/** A non-streaming response; throws a plain Error when the shape is not OpenAI's. */
export function parseCompletion(json: unknown): ParsedCompletion {
  const choice = firstChoice(json);
  if (!choice) throw new Error('response has no choices');
  if (!choice.message && typeof choice.text !== 'string') throw new Error('response choice has no text');
  const raw = (json as { usage?: unknown }).usage;
  const usage = parseUsage(raw);
  return {
    text: generatedText(json as WireObject),
    finishReason: mapFinishReason(choice.finish_reason),
    usage,
    ...(usage ? { rawUsage: raw as WireObject } : {}),
  };
}

export interface ParsedChunk {
  delta: string;
  finishReason?: FinishReason;
  usage?: UpstreamUsage;
  rawUsage?: WireObject;
  /** The chunk has choices (a usage-only chunk has none). */
  hasChoices?: boolean;
  /** The upstream reported an error inside the stream. */
  error?: string;
}

/** One `data:` payload of a stream: the text of every choice, the first choice's finish reason, usage. */
export function parseChunk(json: unknown): ParsedChunk {
  if (!json || typeof json !== 'object') return { delta: '' };
  const err = (json as { error?: unknown }).error;
  if (err) {
    const message = typeof err === 'string' ? err : (err as { message?: unknown }).message;
    return { delta: '', error: typeof message === 'string' ? message : 'upstream reported an error' };
  }
  const raw = (json as { usage?: unknown }).usage;
  const usage = parseUsage(raw);
  const choice = firstChoice(json);
  const rest = usage ? { usage, rawUsage: raw as WireObject } : { usage };
  if (!choice) return { delta: '', ...rest };
  const finish = choice.finish_reason;
  return {
    delta: generatedText(json as WireObject),
    finishReason: finish === null || finish === undefined ? undefined : mapFinishReason(finish),
    ...rest,
    hasChoices: true,
  };
}

interface Choice {
  finish_reason?: unknown;
  text?: unknown;
  message?: unknown;
}

function firstChoice(json: unknown): Choice | undefined {
  const choices = (json as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices) || choices.length === 0) return undefined;
  const c = choices[0] as unknown;
  return c && typeof c === 'object' ? (c as Choice) : undefined;
}
