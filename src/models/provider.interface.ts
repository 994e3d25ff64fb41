/**
 * The one interface every model backend implements (docs/architecture.md, "Adding a provider"): the router
 * never knows whether a model runs in-process (ONNX) or on another host (HTTP).
 */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | 'developer';
  content: string;
  name?: string;
}

/** Sampling and stopping parameters, already validated and defaulted by the API layer. */
export interface GenerationParams {
  maxTokens: number;
  /** 0 means greedy decoding. */
  temperature: number;
  /** 1 means off. */
  topP: number;
  /** 0 means off. */
  topK: number;
  /** 1 means off. */
  repetitionPenalty: number;
  /** Text stop sequences; generation ends before the first one and it is not returned. */
  stop: string[];
  /** Fixed seed for reproducible sampling. */
  seed?: number;
}

export interface GenerateRequest {
  /** Raw text prompt (`/v1/generate`, `/v1/completions`). Exactly one of prompt / messages. */
  prompt?: string;
  /** Chat messages: local models render them with the model's chat template. */
  messages?: ChatMessage[];
  params: GenerationParams;
  /** Aborted when the client goes away: generation stops at the next step. */
  signal?: AbortSignal;
  requestId?: string;
  /** Forwarded to remote upstreams as OpenAI's `user`. */
  user?: string;
  /**
   * The client's OpenAI request body as validated, unknown fields included: remote models send
   * it as is (docs/api.md, wire fidelity). Absent for `/v1/generate`.
   */
  body?: Record<string, unknown>;
  /**
   * The token cap must reach a remote upstream even when the client sent none: the key's quota is
   * finite, so the answer must stay within what was reserved (docs/limits.md). Without it, a
   * client that names no cap gets the upstream's own default, as from the upstream directly.
   */
  boundCap?: boolean;
}

/** Local models end with stop or length; a remote upstream's reason passes as sent (`tool_calls` ...). */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call' | (string & {});

export interface TokenUsage {
  /** Cached prompt tokens included. */
  promptTokens: number;
  /** Reasoning tokens and every choice (`n`) included. */
  completionTokens: number;
  /** True when a remote upstream gave no usage and we counted with a tokenizer. */
  estimated?: boolean;
  /** Of promptTokens, those the upstream served from its prompt cache (`prompt_tokens_details`). */
  cachedPromptTokens?: number;
  /** Of completionTokens, reasoning tokens (`completion_tokens_details`). */
  reasoningTokens?: number;
}

/** An upstream's OpenAI JSON object (a completion or a stream chunk), kept as it came. */
export type WireObject = Record<string, unknown>;

export interface GenerateResult {
  /** Every choice's generated text (tool calls and refusals included): what estimates count. */
  text: string;
  finishReason: FinishReason;
  usage: TokenUsage;
  /** The upstream's whole completion object, when the request carried an OpenAI body. */
  wire?: WireObject;
}

/**
 * A delta may carry the upstream's answer as it came (docs/api.md, wire fidelity): `chunk`, one
 * stream chunk (never a usage-only one), or `whole`, the whole completion. `text` is always the
 * generated text, for estimates and logs. `done.wireUsage` is the upstream's `usage` object when
 * it is what was charged.
 */
export type StreamEvent =
  | { type: 'delta'; text: string; chunk?: WireObject; whole?: WireObject }
  | { type: 'done'; finishReason: FinishReason; usage: TokenUsage; wireUsage?: WireObject };

export interface ProviderHealth {
  up: boolean;
  detail?: string;
  /** Requests running / waiting right now (local models). */
  inflight?: number;
  queued?: number;
}

/** In-process ONNX, or a remote OpenAI-compatible HTTP upstream. */
export type ProviderKind = 'onnx' | 'http';

export interface LlmProvider {
  readonly kind: ProviderKind;
  /** Maximum prompt + completion tokens, when known. */
  readonly contextLength?: number;
  /** A string that changes whenever the model's files (or upstream model) change: cache keys use it. */
  readonly version: string;
  generate(req: GenerateRequest): Promise<GenerateResult>;
  /** Yields text deltas then exactly one `done`; throws (ApiError) on failure. */
  stream(req: GenerateRequest): AsyncIterable<StreamEvent>;
  /**
   * Prompt tokens the request will cost (chat template applied for messages). `body`, the
   * client's OpenAI request, lets a local model count what it will really feed (tools, prompt
   * lists) and refuse what it cannot run; remote models ignore it.
   */
  countTokens(input: string | ChatMessage[], body?: Record<string, unknown>): Promise<number>;
  /**
   * True when countTokens is a length estimate (a remote model without a tokenizer): remembering
   * its answers would cost more than working them out again.
   */
  readonly countsByLength?: boolean;
  /**
   * The request field this provider cannot honour, if any (a local engine checks tools against
   * its chat template, schemas against the strict subset): the router skips such a fallback.
   */
  refusal?(req: GenerateRequest): string | undefined;
  health(): Promise<ProviderHealth>;
  close(): Promise<void>;
}
