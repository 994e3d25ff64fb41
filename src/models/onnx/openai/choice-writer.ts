/**
 * One choice of a local answer as OpenAI streams it: chat `delta`s (role, content, tool-call
 * deltas, logprobs) or legacy completion `text` pieces, ending with the finish reason. The
 * gateway passes these objects through (docs/api.md, wire fidelity), and joins them for a
 * non-streaming client, so both see the same answer.
 */
import type { FinishReason, WireObject } from '../../provider.interface';
import type { TokenLogprob } from '../logprobs';
import { ToolCallStream, type ToolCallDelta } from '../tools/tool-call-stream';
import type { ToolPlan } from './local-request';

/** How a token is shown in logprobs. */
export interface TokenView {
  text(id: number): string;
  bytes(id: number): number[];
}

export interface ChoiceWriter {
  /** Choice entries (`choices[i]` of a chunk) for a text delta. */
  delta(text: string, logprobs?: TokenLogprob[]): WireObject[];
  finish(reason: FinishReason): WireObject[];
  /** `parallel_tool_calls: false` and a second call began: the sequence should stop. */
  readonly wantsStop: boolean;
}

export function chatChoiceWriter(
  index: number,
  tokens: TokenView,
  tools?: ToolPlan,
  random?: () => number,
): ChoiceWriter {
  let started = false;
  let wantsStop = false;
  let calls = 0;
  const stream = tools ? new ToolCallStream(tools.parser, { random }) : undefined;
  if (stream && tools!.prefix) stream.push(tools!.prefix); // the forced call's marker is in the prompt
  const entry = (delta: WireObject, logprobs?: TokenLogprob[]): WireObject => ({
    index,
    delta,
    logprobs: logprobs?.length ? { content: logprobs.map((lp) => chatLogprob(lp, tokens)), refusal: null } : null,
    finish_reason: null,
  });
  const out = (content: string, toolCalls: ToolCallDelta[], logprobs?: TokenLogprob[]): WireObject[] => {
    const kept = tools?.single ? toolCalls.filter((c) => c.index === 0) : toolCalls;
    if (kept.length < toolCalls.length) wantsStop = true;
    for (const c of kept) if (c.id) calls++;
    const entries: WireObject[] = [];
    if (content || (logprobs?.length && !kept.length)) entries.push(entry(opening({ content }), logprobs));
    if (kept.length) entries.push(entry(opening({ content: null, tool_calls: kept }), content ? undefined : logprobs));
    return entries;
  };
  // The first delta of a choice carries its role (content null when it starts with tool calls).
  const opening = (delta: WireObject): WireObject => {
    if (started) return delta.content === null ? { tool_calls: delta.tool_calls } : delta;
    started = true;
    return { role: 'assistant', ...delta, refusal: null };
  };
  return {
    get wantsStop() {
      return wantsStop;
    },
    delta(text, logprobs) {
      if (!stream) return out(text, [], logprobs);
      const step = stream.push(text);
      return out(step.content, step.toolCalls, logprobs);
    },
    finish(reason) {
      const entries: WireObject[] = [];
      if (stream) {
        if (tools!.suffix) {
          const step = stream.push(tools!.suffix);
          entries.push(...out(step.content, step.toolCalls));
        }
        const last = stream.finish();
        entries.push(...out(last.content, last.toolCalls));
      }
      if (!started) entries.push(entry(opening({ content: '' })));
      entries.push({ index, delta: {}, logprobs: null, finish_reason: calls > 0 ? 'tool_calls' : reason });
      return entries;
    },
  };
}

/**
 * `promptChars`: as OpenAI, text_offset counts characters (code points) from the prompt's start;
 * each offset is the previous plus its reported token's length.
 */
export function completionChoiceWriter(
  index: number,
  tokens: TokenView,
  withLogprobs: boolean,
  promptChars: number,
): ChoiceWriter {
  const offset = { at: promptChars };
  return {
    wantsStop: false,
    delta(text, logprobs) {
      if (!text && !logprobs?.length) return [];
      const lp = withLogprobs ? legacyLogprobs(logprobs ?? [], tokens, offset) : null;
      return [{ index, text, logprobs: lp, finish_reason: null }];
    },
    finish(reason) {
      return [{ index, text: '', logprobs: null, finish_reason: reason }];
    },
  };
}

function chatLogprob(lp: TokenLogprob, tokens: TokenView): WireObject {
  return {
    token: tokens.text(lp.id),
    logprob: lp.logprob,
    bytes: tokens.bytes(lp.id),
    top_logprobs: lp.top.map((t) => ({ token: tokens.text(t.id), logprob: t.logprob, bytes: tokens.bytes(t.id) })),
  };
}

/** Completions' parallel arrays; `text_offset` counts characters from the completion's start. */
function legacyLogprobs(lps: TokenLogprob[], tokens: TokenView, offset: { at: number }): WireObject {
  const out = {
    tokens: [] as string[],
    token_logprobs: [] as number[],
    top_logprobs: [] as Record<string, number>[],
    text_offset: [] as number[],
  };
  for (const lp of lps) {
    const text = tokens.text(lp.id);
    out.tokens.push(text);
    out.token_logprobs.push(lp.logprob);
    out.top_logprobs.push(Object.fromEntries(lp.top.map((t) => [tokens.text(t.id), t.logprob])));
    out.text_offset.push(offset.at);
    offset.at += [...text].length;
  }
  return out;
}
