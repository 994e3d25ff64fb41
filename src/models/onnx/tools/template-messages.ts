/**
 * OpenAI chat messages as Hugging Face chat templates expect them: tool call arguments as
 * objects (templates write them with `tojson`; OpenAI sends JSON text), text content parts
 * joined, `tool` results with their `tool_call_id`. vLLM prepares messages the same way.
 */

interface OpenAiToolCall {
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: unknown };
}

export interface OpenAiMessage {
  role: string;
  content?: string | null | { type?: string; text?: string }[];
  name?: string;
  tool_calls?: OpenAiToolCall[];
  tool_call_id?: string;
}

export function toTemplateMessages(messages: readonly OpenAiMessage[]): object[] {
  return messages.map((m) => {
    const out: Record<string, unknown> = { role: m.role, content: textOf(m.content) };
    if (m.name !== undefined) out.name = m.name;
    if (m.tool_call_id !== undefined) out.tool_call_id = m.tool_call_id;
    if (m.tool_calls?.length) {
      out.tool_calls = m.tool_calls.map((c) => ({
        id: c.id,
        type: c.type ?? 'function',
        function: { name: c.function?.name, arguments: parseArguments(c.function?.arguments) },
      }));
    }
    return out;
  });
}

/** No content (an assistant turn that only calls tools) is '': templates concatenate it, and null fails there. */
function textOf(content: OpenAiMessage['content']): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  return content.map((p) => (p.type === 'text' ? (p.text ?? '') : '')).join('');
}

/** JSON text becomes an object; anything else is left as it is (templates print strings as they are). */
function parseArguments(args: unknown): unknown {
  if (typeof args !== 'string') return args ?? {};
  try {
    return JSON.parse(args);
  } catch {
    return args;
  }
}
