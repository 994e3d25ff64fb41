import type { WireObject } from './wire-accumulator';

/**
 * Splits a whole completion object into the stream chunks that stand for it (docs/api.md, wire
 * fidelity): for a streaming client served from a whole answer (a cache hit, an upstream that
 * ignored `stream: true`, a follower of a non-streamed computation). Per choice: a role chunk
 * (with the message's other fields), the content and the refusal each in one chunk with their
 * logprobs, each tool call as OpenAI streams it (index, id, type, name and empty arguments, then
 * the arguments), and a finish chunk. Usage is left out: the formatter sends it as the client
 * asked. WireAccumulator joins the chunks back into the same object.
 */
export function splitWhole(whole: WireObject): WireObject[] {
  const { choices, usage: _usage, object, ...envelope } = whole;
  const chat = object !== 'text_completion';
  const base = { ...envelope, object: chat ? 'chat.completion.chunk' : 'text_completion' };
  const out: WireObject[] = [];
  for (const c of Array.isArray(choices) ? (choices as WireObject[]) : []) {
    for (const choice of chat ? chatChoice(c) : textChoice(c)) out.push({ ...base, choices: [choice] });
  }
  return out;
}

function chatChoice(c: WireObject): WireObject[] {
  const { index, message, logprobs, finish_reason, ...rest } = c;
  const m: WireObject = message ?? {};
  const { content, refusal, tool_calls, function_call, ...fields } = m;
  const out: WireObject[] = [];
  const push = (delta: WireObject, lp: WireObject | null = null): void => {
    out.push({ index, delta, logprobs: lp, finish_reason: null });
  };
  const role: WireObject = { ...fields };
  if (content !== undefined) role.content = typeof content === 'string' ? '' : content;
  if (refusal !== undefined) role.refusal = null;
  push(role);
  if (typeof content === 'string' && content)
    push({ content }, logprobs?.content ? { ...logprobs, refusal: null } : null);
  if (typeof refusal === 'string') push({ refusal }, logprobs?.refusal ? { ...logprobs, content: null } : null);
  (Array.isArray(tool_calls) ? (tool_calls as WireObject[]) : []).forEach((tc, i) => {
    const { function: fn, ...call } = tc;
    const { arguments: args, ...fnFields } = (fn ?? {}) as WireObject;
    push({ tool_calls: [{ index: i, ...call, function: { ...fnFields, arguments: '' } }] });
    if (typeof args === 'string' && args) push({ tool_calls: [{ index: i, function: { arguments: args } }] });
  });
  if (function_call) {
    const { arguments: args, ...fnFields } = function_call as WireObject;
    push({ function_call: { ...fnFields, arguments: '' } });
    if (typeof args === 'string' && args) push({ function_call: { arguments: args } });
  }
  // Logprobs that came with no text (content and refusal both empty) still reach the client.
  const sent = out.some((o) => o.logprobs);
  out.push({
    ...rest,
    index,
    delta: {},
    logprobs: !sent && logprobs ? logprobs : null,
    finish_reason: finish_reason ?? null,
  });
  return out;
}

function textChoice(c: WireObject): WireObject[] {
  const { index, text, logprobs, finish_reason, ...rest } = c;
  return [
    { index, text: typeof text === 'string' ? text : '', logprobs: logprobs ?? null, finish_reason: null },
    { ...rest, index, text: '', logprobs: null, finish_reason: finish_reason ?? null },
  ];
}

/**
 * The text a chunk or a whole answer generated, across every choice: content, refusals, legacy
 * text, and tool and function call names and arguments. What an estimate counts when the
 * upstream reports no usage.
 */
export function generatedText(obj: WireObject): string {
  let text = '';
  for (const c of Array.isArray(obj.choices) ? (obj.choices as WireObject[]) : []) {
    if (typeof c.text === 'string') text += c.text;
    const m: WireObject | undefined = c.message ?? c.delta;
    if (!m) continue;
    if (typeof m.content === 'string') text += m.content;
    if (typeof m.refusal === 'string') text += m.refusal;
    const calls = Array.isArray(m.tool_calls) ? (m.tool_calls as WireObject[]) : [];
    for (const fn of [...calls.map((tc) => tc.function as WireObject | undefined), m.function_call as WireObject]) {
      if (typeof fn?.name === 'string') text += fn.name;
      if (typeof fn?.arguments === 'string') text += fn.arguments;
    }
  }
  return text;
}
