/**
 * Tools for a chat template that does not render them (no `tools` variable, e.g. a reduced
 * Llama 3.1 template): the definitions go into the system message in the words the family's
 * own templates use, so the model is asked for calls in the format its parser reads.
 */
import type { FunctionTool } from '../constrained/tool-call-schema';
import type { OpenAiMessage } from '../tools/template-messages';
import type { ToolParserName } from '../tools/tool-call-formats';

function instructions(parser: ToolParserName, tools: readonly FunctionTool[]): string {
  const defs = tools.map((t) => JSON.stringify(t)).join('\n');
  switch (parser) {
    case 'hermes':
      return (
        '# Tools\n\nYou may call one or more functions to assist with the user query.\n\n' +
        `You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n${defs}\n</tools>\n\n` +
        'For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n' +
        '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
      );
    case 'llama3_json':
      return (
        'Given the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\n' +
        'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}. Do not use variables.\n\n' +
        defs
      );
    case 'mistral':
      return `[AVAILABLE_TOOLS]${JSON.stringify(tools)}[/AVAILABLE_TOOLS]\nTo call tools, answer [TOOL_CALLS] followed by a JSON list of {"name": ..., "arguments": {...}} objects.`;
  }
}

/** The messages with the tools described in the (first) system message. */
export function withToolsInSystem(
  messages: readonly OpenAiMessage[],
  parser: ToolParserName,
  tools: readonly FunctionTool[],
): OpenAiMessage[] {
  const text = instructions(parser, tools);
  const first = messages[0];
  if (first && (first.role === 'system' || first.role === 'developer') && typeof first.content === 'string') {
    return [{ ...first, content: `${first.content}\n\n${text}` }, ...messages.slice(1)];
  }
  return [{ role: 'system', content: text }, ...messages];
}
