import type { ToolParserName } from '../tools/tool-call-formats';

/**
 * How a call is forced (`tool_choice: "required"` or a named function) per tool-call format: the
 * prompt ends with the opening marker, the JSON of one call is generated under a constraint, and
 * the closing marker is appended as text — so the call always parses and its arguments validate.
 */
export const FORCED_CALL: Record<
  ToolParserName,
  { prefix: string; suffix: string; argumentsKey: 'arguments' | 'parameters' }
> = {
  // Qwen 2.5 / 3 and Hermes: <tool_call>\n{...}\n</tool_call>
  hermes: { prefix: '<tool_call>\n', suffix: '\n</tool_call>', argumentsKey: 'arguments' },
  // Llama 3.1 / 3.2: the answer is the bare JSON object, arguments under "parameters".
  llama3_json: { prefix: '', suffix: '', argumentsKey: 'parameters' },
  // Mistral: [TOOL_CALLS][{...}]
  mistral: { prefix: '[TOOL_CALLS][', suffix: ']', argumentsKey: 'arguments' },
};
