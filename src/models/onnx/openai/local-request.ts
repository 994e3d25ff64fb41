/**
 * An OpenAI request body, as a local model's engine runs it (docs/local-models-api.md):
 * the prompts' token ids (chat template with tools, completions prompt lists), how many choices,
 * logprobs, penalties, logit_bias, and the constraint (response_format, forced tool calls).
 * Everything is checked here, before any token is charged: a bad value is a 400.
 */
import { ApiError } from '../../../common/errors/api-error';
import { ErrorCode } from '../../../common/errors/error-code';
import type { GenerateRequest } from '../../provider.interface';
import {
  compileJsonConstraint,
  type JsonConstraint,
  type JsonResponseFormat,
  schemaNodesFor,
  UnsupportedSchemaError,
} from '../constrained/constraint';
import type { TokenIndex } from '../constrained/token-index';
import { toolCallSchema, type FunctionTool, type ToolChoice } from '../constrained/tool-call-schema';
import type { LogitBias } from '../logit-processors';
import type { ModelTokenizer } from '../tokenizer';
import { toTemplateMessages, type OpenAiMessage } from '../tools/template-messages';
import type { ToolParserName } from '../tools/tool-call-formats';
import { FORCED_CALL } from './forced-call';
import { withToolsInSystem } from './tools-prompt';

export interface ToolPlan {
  parser: ToolParserName;
  /** Text the prompt already ends with (a forced call's opening marker): the parser reads it first. */
  prefix: string;
  /** Text appended after a forced call's JSON (its closing marker). */
  suffix: string;
  /** `parallel_tool_calls: false`: one call at most. */
  single: boolean;
}

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

export interface ModelView {
  id: string;
  tokenizer: ModelTokenizer;
  vocabSize: number;
  /** Fed for an empty prompt (BOS, else EOS). */
  startId?: number;
  /** Sequences the model can hold at once (batch slots + queue): a request's choices must fit. */
  capacity: number;
  /** models.yaml `tool_parser`, else what the template shows. */
  toolParser?: ToolParserName;
  tokenIndex(): TokenIndex;
}

type Body = Record<string, unknown>;

const unsupported = (model: string, param: string, why: string): ApiError =>
  new ApiError(ErrorCode.UnsupportedParameter, `model "${model}" (local): ${why}`, param);

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
  const tools = kind === 'chat' ? activeTools(body) : undefined;
  let constraint: JsonConstraint | undefined;
  let toolPlan: ToolPlan | undefined;
  let prompts: number[][];
  if (kind === 'chat') {
    const messages = (Array.isArray(body.messages) ? body.messages : undefined) as OpenAiMessage[] | undefined;
    if (tools) {
      const parser = model.toolParser;
      if (!parser)
        throw unsupported(
          model.id,
          'tools',
          'its chat template shows no tool-call format; set tool_parser in models.yaml',
        );
      const forced = FORCED_CALL[parser];
      const schema = toolSchema(model.id, tools.list, tools.choice, forced.argumentsKey);
      if (schema) constraint = compileToolCall(model, schema, tools.list);
      toolPlan = {
        parser,
        prefix: schema ? forced.prefix : '',
        suffix: schema ? forced.suffix : '',
        single: body.parallel_tool_calls === false,
      };
      const all = (messages ?? req.messages!) as OpenAiMessage[];
      const text =
        (/\btools\b/.test(model.tokenizer.chatTemplate.source)
          ? render(model, all, tools.list)
          : render(model, withToolsInSystem(all, parser, tools.list))) + toolPlan.prefix;
      prompts = [model.tokenizer.encodeText(text)];
    } else if (messages && model.toolParser && messages.some(needsTemplateView)) {
      // A template that knows tool calls renders them itself; others get our text view of them.
      prompts = [model.tokenizer.encodeText(render(model, messages))];
    } else {
      prompts = [encodeChat(model, req.messages!)];
    }
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
    wire: n > 1 || logprobs !== undefined || toolPlan !== undefined || prompts.length > 1,
    logprobs,
    presencePenalty: numberOr0(body.presence_penalty),
    frequencyPenalty: numberOr0(body.frequency_penalty),
    logitBias: logitBias(body.logit_bias, model.vocabSize),
    constraint,
    tools: toolPlan,
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

function activeTools(body: Body): { list: FunctionTool[]; choice: ToolChoice | undefined } | undefined {
  if (!Array.isArray(body.tools) || body.tools.length === 0) {
    if (
      body.tool_choice !== undefined &&
      body.tool_choice !== null &&
      body.tool_choice !== 'none' &&
      body.tool_choice !== 'auto'
    )
      throw ApiError.invalid('tool_choice needs tools', 'tool_choice');
    return undefined;
  }
  const list = (body.tools as unknown[]).map((t, i) => {
    const tool = t as { type?: unknown; function?: { name?: unknown } };
    if (tool?.type !== 'function' || typeof tool.function?.name !== 'string' || !tool.function.name)
      throw new ApiError(
        ErrorCode.UnsupportedParameter,
        'local models call function tools only (type "function" with a name)',
        `tools.${i}`,
      );
    return tool as FunctionTool;
  });
  const choice = body.tool_choice as ToolChoice | undefined | null;
  if (choice === 'none') return undefined;
  if (choice !== undefined && choice !== null && choice !== 'auto' && choice !== 'required') {
    const name = typeof choice === 'object' ? choice.function?.name : undefined;
    if (typeof name !== 'string' || !list.some((t) => t.function.name === name))
      throw ApiError.invalid(`tool_choice names no tool in tools${name ? ` ("${name}")` : ''}`, 'tool_choice');
  }
  return { list, choice: choice ?? undefined };
}

function toolSchema(
  model: string,
  tools: FunctionTool[],
  choice: ToolChoice | undefined,
  key: 'arguments' | 'parameters',
): object | undefined {
  try {
    return toolCallSchema(tools, choice, key);
  } catch (err) {
    if (err instanceof UnsupportedSchemaError) throw unsupported(model, 'tool_choice', err.message);
    throw err;
  }
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
  return compile(model, rf as JsonResponseFormat, 'response_format');
}

function compile(model: ModelView, format: JsonResponseFormat, param: string): JsonConstraint {
  try {
    const constraint = compileJsonConstraint(format, model.tokenIndex());
    constraint.minTokens(); // a schema with no finite document fails here, not in the decode loop
    return constraint;
  } catch (err) {
    if (err instanceof UnsupportedSchemaError) {
      const where = param === 'tools' ? "a tool's parameters" : 'the response_format schema';
      throw unsupported(
        model.id,
        param,
        `${where}: "${err.keyword}" at ${err.path || '#'} is not supported (the strict JSON Schema subset is)`,
      );
    }
    throw err;
  }
}

/** A forced call's constraint; a parameters schema outside the subset is named by its tool's index. */
function compileToolCall(model: ModelView, schema: object, tools: FunctionTool[]): JsonConstraint {
  try {
    return compile(model, { type: 'json_schema', json_schema: { schema } }, 'tools');
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const i = tools.findIndex((t) => {
      try {
        schemaNodesFor({ type: 'json_schema', json_schema: { schema: t.function.parameters ?? {} } });
        return false;
      } catch {
        return true;
      }
    });
    throw i < 0 ? err : new ApiError(err.code, err.message, `tools.${i}.function.parameters`);
  }
}

/** Messages only the template view carries: tool calls, tool results, content parts. */
function needsTemplateView(m: OpenAiMessage): boolean {
  return (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) || m.tool_call_id !== undefined || m.role === 'tool';
}

function render(model: ModelView, messages: readonly object[], tools?: FunctionTool[]): string {
  try {
    return model.tokenizer.chatTemplate.renderWith(
      toTemplateMessages(messages as OpenAiMessage[]),
      tools ? { tools } : {},
    );
  } catch (err) {
    throw ApiError.invalid(`the model's chat template rejected the messages: ${(err as Error).message}`, 'messages');
  }
}

function encodeChat(model: ModelView, messages: NonNullable<GenerateRequest['messages']>): number[] {
  try {
    return model.tokenizer.encodeChat(messages);
  } catch (err) {
    throw ApiError.invalid(`the model's chat template rejected the messages: ${(err as Error).message}`, 'messages');
  }
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
