/**
 * A chat request's prompt as the local engine feeds it: tools rendered by the model's template
 * (or described in the system message when the template has no `tools` variable), a forced
 * call's opening marker, and the constraint that forces the call (docs/local-models-api.md).
 */
import { ApiError } from '../../../common/errors/api-error';
import { ErrorCode } from '../../../common/errors/error-code';
import type { GenerateRequest } from '../../provider.interface';
import { schemaNodesFor, UnsupportedSchemaError, type JsonConstraint } from '../constrained/constraint';
import { toolCallSchema, type FunctionTool, type ToolChoice } from '../constrained/tool-call-schema';
import type { OpenAiMessage } from '../tools/template-messages';
import type { ToolParserName } from '../tools/tool-call-formats';
import { FORCED_CALL } from './forced-call';
import { compileConstraint, encodeChat, render, unsupported, type ModelView } from './model-view';
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

type Body = Record<string, unknown>;

export function chatPrompt(
  req: Pick<GenerateRequest, 'messages'>,
  body: Body,
  model: ModelView,
): { prompts: number[][]; constraint?: JsonConstraint; tools?: ToolPlan } {
  const messages = (Array.isArray(body.messages) ? body.messages : undefined) as OpenAiMessage[] | undefined;
  const tools = activeTools(body);
  if (!tools) {
    // A template that knows tool calls renders them itself; others get our text view of them.
    if (messages && model.toolParser && messages.some(needsTemplateView))
      return { prompts: [model.tokenizer.encodeText(render(model, messages))] };
    return { prompts: [encodeChat(model, req.messages!)] };
  }
  const parser = model.toolParser;
  if (!parser)
    throw unsupported(model.id, 'tools', 'its chat template shows no tool-call format; set tool_parser in models.yaml');
  const forced = FORCED_CALL[parser];
  const schema = toolSchema(model.id, tools.list, tools.choice, forced.argumentsKey);
  const constraint = schema ? compileToolCall(model, schema, tools.list) : undefined;
  const plan: ToolPlan = {
    parser,
    prefix: schema ? forced.prefix : '',
    suffix: schema ? forced.suffix : '',
    single: body.parallel_tool_calls === false,
  };
  const all = (messages ?? req.messages!) as OpenAiMessage[];
  const text = /\btools\b/.test(model.tokenizer.chatTemplate.source)
    ? render(model, all, tools.list)
    : render(model, withToolsInSystem(all, parser, tools.list));
  return {
    prompts: [model.tokenizer.encodeText(text + plan.prefix)],
    constraint,
    tools: plan,
  };
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

/** A forced call's constraint; a parameters schema outside the subset is named by its tool's index. */
function compileToolCall(model: ModelView, schema: object, tools: FunctionTool[]): JsonConstraint {
  try {
    return compileConstraint(model, { type: 'json_schema', json_schema: { schema } }, 'tools');
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
