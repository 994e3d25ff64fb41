/**
 * An OpenAI request body, as a local model's engine runs it (docs/local-models-api.md):
 * the prompts' token ids (chat template with tools, completions prompt lists), how many choices,
 * logprobs, penalties, logit_bias, and the constraint (response_format, forced tool calls).
 * Everything is checked here, before any token is charged: a bad value is a 400.
 */
import { ApiError } from '../../../common/errors/api-error';
import type { GenerateRequest } from '../../provider.interface';
import type { JsonConstraint, JsonResponseFormat } from '../constrained/constraint';
import type { LogitBias } from '../logit-processors';
import { chatPrompt, type ToolPlan } from './chat-prompt';
import { compileConstraint, unsupported, type ModelView } from './model-view';

export type { ToolPlan } from './chat-prompt';
export type { ModelView } from './model-view';

export interface LocalRequest {
  kind: 'chat' | 'completion';
  /** Each prompt's token ids (a completions prompt list gives several; n choices each). */
  prompts: number[][];
  n: number;
  /** Answers go out as OpenAI objects (several choices, logprobs or tool calls need them). */
  wire: boolean;
  /** Alternatives per token when log-probabilities are asked for. */
  logprobs?: number;
  presencePenalty: number;
  frequencyPenalty: number;
  logitBias?: LogitBias;
  constraint?: JsonConstraint;
  tools?: ToolPlan;
}

type Body = Record<string, unknown>;

/** Builds the plan; throws ApiError (400) for what cannot run. `maxTokens` checks a constraint's budget. */
export function planLocalRequest(
  req: Pick<GenerateRequest, 'prompt' | 'messages' | 'body'>,
  model: ModelView,
  maxTokens?: number,
): LocalRequest {
  const body: Body = req.body ?? {};
  const kind = req.messages ? 'chat' : 'completion';
  const n = typeof body.n === 'number' && body.n > 1 ? body.n : 1;
  const logprobs = kind === 'chat' ? chatLogprobs(body) : completionLogprobs(body);
  let constraint: JsonConstraint | undefined;
  let tools: ToolPlan | undefined;
  let prompts: number[][];
  if (kind === 'chat') {
    ({ prompts, constraint, tools } = chatPrompt(req, body, model));
  } else {
    prompts = completionPrompts(body, req.prompt ?? '', model);
  }
  if (!constraint) constraint = responseFormat(body, model);
  for (const p of prompts) if (p.length === 0 && model.startId !== undefined) p.push(model.startId);
  if (prompts.some((p) => p.length === 0))
    throw ApiError.invalid('the prompt is empty', kind === 'chat' ? 'messages' : 'prompt');
  if (constraint && maxTokens !== undefined) checkBudget(constraint, maxTokens, body);
  if (n * prompts.length > model.capacity) {
    throw ApiError.invalid(
      `${n * prompts.length} choices (n × prompts) exceed the ${model.capacity} sequences model "${model.id}" runs or queues at once`,
      n > 1 ? 'n' : 'prompt',
    );
  }
  return {
    kind,
    prompts,
    n,
    wire: n > 1 || logprobs !== undefined || tools !== undefined || prompts.length > 1,
    logprobs,
    presencePenalty: numberOr0(body.presence_penalty),
    frequencyPenalty: numberOr0(body.frequency_penalty),
    logitBias: logitBias(body.logit_bias, model.vocabSize),
    constraint,
    tools,
  };
}

/** Throws the 400 a constraint's budget gives when `maxTokens` cannot hold the shortest document. */
export function checkBudget(constraint: JsonConstraint, maxTokens: number, body?: Body): void {
  const needed = constraint.minTokens();
  if (needed > maxTokens) {
    throw ApiError.invalid(
      `the token cap ${maxTokens} is too small for the requested output format: the shortest valid document needs ${needed} tokens`,
      body?.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens',
    );
  }
}

function chatLogprobs(body: Body): number | undefined {
  const top = body.top_logprobs;
  if (body.logprobs !== true) {
    if (typeof top === 'number' && top > 0) throw ApiError.invalid('top_logprobs needs logprobs: true', 'top_logprobs');
    return undefined;
  }
  return typeof top === 'number' ? top : 0;
}

function completionLogprobs(body: Body): number | undefined {
  const lp = body.logprobs;
  if (typeof lp === 'number') return lp;
  return lp === true ? 0 : undefined;
}

function responseFormat(body: Body, model: ModelView): JsonConstraint | undefined {
  const rf = body.response_format as { type?: unknown; json_schema?: { schema?: unknown } } | null | undefined;
  if (!rf || rf.type === 'text') return undefined;
  if (rf.type !== 'json_object' && rf.type !== 'json_schema')
    throw unsupported(
      model.id,
      'response_format',
      `response_format type ${JSON.stringify(rf.type)} is not one of text, json_object, json_schema`,
    );
  if (rf.type === 'json_schema' && (typeof rf.json_schema !== 'object' || rf.json_schema === null))
    throw ApiError.invalid('response_format json_schema needs a json_schema object', 'response_format.json_schema');
  return compileConstraint(model, rf as JsonResponseFormat, 'response_format');
}

/** A text, a list of texts, token ids, or a list of id lists (OpenAI's batch forms). */
function completionPrompts(body: Body, prompt: string, model: ModelView): number[][] {
  const raw = body.prompt;
  if (!Array.isArray(raw)) return [model.tokenizer.encodePrompt(typeof raw === 'string' ? raw : prompt)];
  if (raw.every((p) => typeof p === 'number')) return [checkIds(raw as number[], model, 'prompt')];
  return raw.map((p, i) => {
    if (typeof p === 'string') return model.tokenizer.encodePrompt(p);
    if (Array.isArray(p)) return checkIds(p as number[], model, `prompt.${i}`);
    throw ApiError.invalid('a prompt list holds texts or token id lists', `prompt.${i}`);
  });
}

function checkIds(ids: number[], model: ModelView, param: string): number[] {
  const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= model.vocabSize);
  if (bad !== undefined)
    throw ApiError.invalid(
      `token id ${bad} is outside the vocabulary of model "${model.id}" (0-${model.vocabSize - 1})`,
      param,
    );
  return [...ids];
}

function logitBias(raw: unknown, vocab: number): LogitBias | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const out = new Map<number, number>();
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const id = Number(k);
    if (!/^\d+$/.test(k) || id >= vocab)
      throw ApiError.invalid(`logit_bias key "${k}" is not a token id of this model (0-${vocab - 1})`, 'logit_bias');
    if (typeof v !== 'number' || !(v >= -100 && v <= 100))
      throw ApiError.invalid(`logit_bias values are numbers from -100 to 100`, 'logit_bias');
    out.set(id, v);
  }
  return out.size ? out : undefined;
}

const numberOr0 = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Whether planning the body may compile a constraint or report token bytes (logprobs). */
export function needsTokenIndex(body: Record<string, unknown>): boolean {
  const format = (body.response_format as { type?: unknown } | undefined)?.type;
  return (
    (body.logprobs !== undefined && body.logprobs !== null && body.logprobs !== false) ||
    format === 'json_schema' ||
    format === 'json_object' ||
    (Array.isArray(body.tools) && body.tools.length > 0) ||
    (Array.isArray(body.functions) && body.functions.length > 0)
  );
}
