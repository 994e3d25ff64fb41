import { ApiError } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-code';
import type { ResponsesBody } from './responses.schemas';

type Json = Record<string, unknown>;

/** Refused before anything is counted: we keep no responses, so nothing can refer to one. */
export function refuseStatefulFields(body: ResponsesBody): void {
  if (body.store === true)
    throw unsupported('store', 'responses are not stored on this server: send store: false (or leave it out)');
  if (body.previous_response_id != null)
    throw unsupported(
      'previous_response_id',
      'responses are not stored on this server: send the whole conversation in input instead',
    );
}

/** Fields of the Responses request that have the same name and meaning in a chat request. */
const SAME_NAME = [
  'temperature',
  'top_p',
  'top_logprobs',
  'parallel_tool_calls',
  'metadata',
  'service_tier',
  'user',
  'safety_identifier',
  'prompt_cache_key',
] as const;

/** Understood here and not sent on (they ask nothing of the model) or translated below. */
const HANDLED = new Set<string>([
  ...SAME_NAME,
  'model',
  'input',
  'instructions',
  'max_output_tokens',
  'tools',
  'tool_choice',
  'text',
  'reasoning',
  'include',
  'truncation',
  'stream',
  'stream_options',
  'store',
  'previous_response_id',
]);

/** `include` values the translation honours or that cannot apply (no hosted tools, no reasoning items). */
const INCLUDES = new Set([
  'message.output_text.logprobs',
  'reasoning.encrypted_content',
  'message.input_image.image_url',
  'computer_call_output.output.image_url',
  'file_search_call.results',
  'web_search_call.results',
  'web_search_call.action.sources',
  'code_interpreter_call.outputs',
]);

/**
 * The chat completions request that asks a model what a Responses request asks (docs/api.md,
 * "/v1/responses"). Errors name the Responses field (`input.2.content.0`, `text.format`), so a
 * client sees its own request in them.
 */
export function toChatBody(body: ResponsesBody): Json {
  for (const k of Object.keys(body)) {
    if (!HANDLED.has(k) && body[k] !== undefined && body[k] !== null)
      throw unsupported(k, `"${k}" is not supported by /v1/responses on this model`);
  }
  const chat: Json = { messages: toChatMessages(body) };
  if (body.model !== undefined) chat.model = body.model;
  for (const k of SAME_NAME) if (body[k] != null) chat[k] = body[k];
  if (body.max_output_tokens != null) chat.max_tokens = body.max_output_tokens;
  if (body.tools?.length) chat.tools = body.tools.map(chatTool);
  if (body.tool_choice != null) chat.tool_choice = chatToolChoice(body.tool_choice);
  const format = body.text?.format;
  if (format && format.type !== 'text') chat.response_format = responseFormat(format);
  if (body.text?.verbosity != null) chat.verbosity = body.text.verbosity;
  if (body.reasoning?.summary != null)
    throw unsupported('reasoning.summary', 'reasoning summaries are not available through the chat completions API');
  if (body.reasoning?.effort != null) chat.reasoning_effort = body.reasoning.effort;
  for (const [i, v] of (body.include ?? []).entries()) {
    if (!INCLUDES.has(v)) throw unsupported(`include.${i}`, `include "${v}" is not supported`);
  }
  if (body.include?.includes('message.output_text.logprobs') || (body.top_logprobs ?? 0) > 0) chat.logprobs = true;
  if (body.stream === true) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  return chat;
}

/** `instructions` first (as a system message), then every input item in order. */
function toChatMessages(body: ResponsesBody): Json[] {
  const messages: Json[] = [];
  if (body.instructions) messages.push({ role: 'system', content: body.instructions });
  if (typeof body.input === 'string') {
    messages.push({ role: 'user', content: body.input });
    return messages;
  }
  for (const [i, raw] of body.input.entries()) {
    const it = raw as Json;
    const type = (it.type as string | undefined) ?? 'message';
    const at = `input.${i}`;
    if (type === 'message') messages.push(message(it, at));
    else if (type === 'function_call') addToolCall(messages, it, at);
    else if (type === 'function_call_output') messages.push(toolResult(it, at));
    else if (type === 'item_reference')
      throw unsupported(
        at,
        'item_reference needs stored responses, which this server does not keep: send the item itself (AI SDK: providerOptions.openai.store = false)',
      );
    else throw unsupported(`${at}.type`, `input items of type "${type}" are not supported`);
  }
  return messages;
}

function message(it: Json, at: string): Json {
  const role = it.role;
  if (role !== 'user' && role !== 'system' && role !== 'developer' && role !== 'assistant')
    throw ApiError.invalid(`${at}.role: must be one of user, system, developer, assistant`, `${at}.role`);
  const content = it.content;
  if (typeof content === 'string') return { role, content };
  if (!Array.isArray(content))
    throw ApiError.invalid(`${at}.content: must be a string or a list of parts`, `${at}.content`);
  if (role === 'assistant') return assistantMessage(content, at);
  return { role, content: content.map((p, j) => inputPart(p, `${at}.content.${j}`)) };
}

/** An earlier answer sent back: its text (and refusal) as one assistant message. */
function assistantMessage(parts: unknown[], at: string): Json {
  let text = '';
  let refusal: string | undefined;
  for (const [j, p] of parts.entries()) {
    const part = (p ?? {}) as Json;
    if ((part.type === 'output_text' || part.type === 'input_text') && typeof part.text === 'string') text += part.text;
    else if (part.type === 'refusal' && typeof part.refusal === 'string') refusal = (refusal ?? '') + part.refusal;
    else
      throw ApiError.invalid(
        `${at}.content.${j}: an assistant message takes output_text or refusal parts`,
        `${at}.content.${j}`,
      );
  }
  return { role: 'assistant', content: text, ...(refusal !== undefined ? { refusal } : {}) };
}

function inputPart(p: unknown, at: string): Json {
  const part = (p ?? {}) as Json;
  if (part.type === 'input_text' || part.type === 'output_text') {
    if (typeof part.text !== 'string') throw ApiError.invalid(`${at}.text: is required`, `${at}.text`);
    return { type: 'text', text: part.text };
  }
  if (part.type === 'input_image') {
    if (typeof part.image_url !== 'string')
      throw unsupported(at, 'input_image is supported with image_url (a URL or data URL), not file_id');
    return { type: 'image_url', image_url: { url: part.image_url, ...(part.detail ? { detail: part.detail } : {}) } };
  }
  if (part.type === 'input_file') {
    const file: Json = {};
    for (const k of ['file_data', 'file_id', 'filename'] as const) if (typeof part[k] === 'string') file[k] = part[k];
    if (Object.keys(file).length === 0) throw unsupported(at, 'input_file needs file_data or file_id');
    return { type: 'file', file };
  }
  throw unsupported(`${at}.type`, `content parts of type "${String(part.type)}" are not supported`);
}

/** Function calls join the assistant message just before them (or start one), as chat expects. */
function addToolCall(messages: Json[], it: Json, at: string): void {
  for (const k of ['call_id', 'name', 'arguments'] as const) {
    if (typeof it[k] !== 'string') throw ApiError.invalid(`${at}.${k}: is required (a string)`, `${at}.${k}`);
  }
  const call = { id: it.call_id, type: 'function', function: { name: it.name, arguments: it.arguments } };
  const last = messages.at(-1);
  if (last?.role === 'assistant') {
    last.tool_calls = [...((last.tool_calls as unknown[] | undefined) ?? []), call];
    if (last.content === '') last.content = null;
  } else {
    messages.push({ role: 'assistant', content: null, tool_calls: [call] });
  }
}

function toolResult(it: Json, at: string): Json {
  if (typeof it.call_id !== 'string') throw ApiError.invalid(`${at}.call_id: is required (a string)`, `${at}.call_id`);
  const out = it.output;
  if (typeof out === 'string') return { role: 'tool', tool_call_id: it.call_id, content: out };
  if (!Array.isArray(out)) throw ApiError.invalid(`${at}.output: must be a string or a list of parts`, `${at}.output`);
  return { role: 'tool', tool_call_id: it.call_id, content: out.map((p, j) => inputPart(p, `${at}.output.${j}`)) };
}

function chatTool(t: Json, i: number): Json {
  if (t.type !== 'function')
    throw unsupported(`tools.${i}.type`, `tools of type "${String(t.type)}" are not supported (function tools are)`);
  if (typeof t.name !== 'string' || !t.name) throw ApiError.invalid(`tools.${i}.name: is required`, `tools.${i}.name`);
  const fn: Json = { name: t.name };
  if (t.description != null) fn.description = t.description;
  if (t.parameters != null) fn.parameters = t.parameters;
  if (t.strict != null) fn.strict = t.strict;
  return { type: 'function', function: fn };
}

function chatToolChoice(choice: NonNullable<ResponsesBody['tool_choice']>): unknown {
  if (typeof choice === 'string') return choice;
  if (choice.type === 'function' && typeof choice.name === 'string')
    return { type: 'function', function: { name: choice.name } };
  if (choice.type === 'allowed_tools' && Array.isArray(choice.tools)) {
    const tools = (choice.tools as Json[]).map((t, i) => {
      if (t?.type !== 'function' || typeof t.name !== 'string')
        throw unsupported(`tool_choice.tools.${i}`, 'allowed_tools lists function tools only');
      return { type: 'function', function: { name: t.name } };
    });
    return { type: 'allowed_tools', allowed_tools: { mode: choice.mode ?? 'auto', tools } };
  }
  throw unsupported('tool_choice', `tool_choice of type "${choice.type}" is not supported`);
}

function responseFormat(f: Json): Json {
  if (f.type === 'json_object') return { type: 'json_object' };
  const schema: Json = { name: f.name, schema: f.schema };
  if (f.description != null) schema.description = f.description;
  if (f.strict != null) schema.strict = f.strict;
  return { type: 'json_schema', json_schema: schema };
}

function unsupported(param: string, message: string): ApiError {
  return new ApiError(ErrorCode.UnsupportedParameter, message, param);
}

/**
 * A chat field named in a refusal (a local model's unsupported_parameter, a pass-through 400),
 * renamed to the Responses field the client sent.
 */
export function responsesParam(chatParam: string | null): string | null {
  if (!chatParam) return chatParam;
  const renames: Record<string, string> = {
    max_tokens: 'max_output_tokens',
    response_format: 'text.format',
    reasoning_effort: 'reasoning.effort',
    verbosity: 'text.verbosity',
    logprobs: 'include',
  };
  if (renames[chatParam]) return renames[chatParam];
  if (chatParam.startsWith('messages')) return 'input';
  return chatParam;
}
