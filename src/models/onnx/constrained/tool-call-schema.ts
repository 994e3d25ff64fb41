/**
 * `tool_choice: "required"` or a named function: the call is generated under a JSON constraint
 * so it is always well formed and its arguments validate against the function's parameters.
 * The document is `{"name": ..., "arguments": {...}}` — what Hermes and Llama 3 write inside
 * their tool-call wrappers (the engine writes the wrapper text, e.g. `<tool_call>\n`, itself).
 */
import { UnsupportedSchemaError } from './schema-nodes';

export interface FunctionTool {
  type?: string;
  function: { name: string; parameters?: unknown };
}

export type ToolChoice = 'auto' | 'none' | 'required' | { type?: string; function: { name: string } };

/** The schema for one call (`argumentsKey`: Llama 3 says "parameters"), or undefined when the choice does not force a call. */
export function toolCallSchema(
  tools: readonly FunctionTool[],
  choice: ToolChoice | undefined,
  argumentsKey: 'arguments' | 'parameters' = 'arguments',
): object | undefined {
  if (choice === undefined || choice === 'auto' || choice === 'none') return undefined;
  const chosen = choice === 'required' ? tools : tools.filter((t) => t.function.name === choice.function.name);
  if (chosen.length === 0)
    throw new UnsupportedSchemaError(
      'tool_choice',
      '#',
      `no tool named ${JSON.stringify(typeof choice === 'object' ? choice.function.name : '')}`,
    );
  const one = (t: FunctionTool) => ({
    type: 'object',
    properties: {
      name: { const: t.function.name },
      [argumentsKey]: t.function.parameters ?? { type: 'object', properties: {}, additionalProperties: false },
    },
    required: ['name', argumentsKey],
    additionalProperties: false,
  });
  return chosen.length === 1 ? one(chosen[0]) : { anyOf: chosen.map(one) };
}
