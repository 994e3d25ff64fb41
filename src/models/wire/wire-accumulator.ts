/**
 * Joins an upstream's stream chunks back into the whole completion object they stand for
 * (docs/api.md, wire fidelity): what a non-streaming client gets when it shares a streamed
 * computation, and what the cache stores. Per choice index: content and refusal concatenated,
 * tool calls joined by index (id, type, name; arguments concatenated), logprob arrays
 * concatenated, the last finish_reason; unknown fields kept.
 */
// An upstream JSON object of any shape: fields are read defensively, unknown ones kept.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type WireObject = Record<string, any>;

const ENVELOPE_SKIP = new Set(['choices', 'usage', 'object']);
/** Message fields that are set, never concatenated, when they repeat. */
const SET_FIELDS = new Set(['role', 'id', 'type', 'name']);

export class WireAccumulator {
  private readonly envelope: WireObject = {};
  private object = 'chat.completion';
  private readonly choices = new Map<number, WireObject>();
  private usage: unknown;

  add(chunk: WireObject): void {
    for (const [k, v] of Object.entries(chunk)) {
      if (!ENVELOPE_SKIP.has(k) && v !== undefined && (this.envelope[k] === undefined || this.envelope[k] === null))
        this.envelope[k] = v;
    }
    if (chunk.object === 'text_completion') this.object = 'text_completion';
    if (chunk.usage) this.usage = chunk.usage;
    if (!Array.isArray(chunk.choices)) return;
    for (const c of chunk.choices as WireObject[]) this.addChoice(c);
  }

  /** The whole object (`chat.completion` or `text_completion`), choices in index order. */
  whole(): WireObject {
    const choices = [...this.choices.entries()].sort(([a], [b]) => a - b).map(([, c]) => finishChoice(c));
    return { ...this.envelope, object: this.object, choices, ...(this.usage ? { usage: this.usage } : {}) };
  }

  private addChoice(c: WireObject): void {
    const index = typeof c.index === 'number' ? c.index : 0;
    let state = this.choices.get(index);
    if (!state) this.choices.set(index, (state = { index }));
    for (const [k, v] of Object.entries(c)) {
      if (k === 'index') continue;
      if (k === 'delta') mergeMessage((state.message ??= {}), v as WireObject);
      else if (k === 'text') state.text = (state.text ?? '') + (typeof v === 'string' ? v : '');
      else if (k === 'logprobs') {
        if (v) state.logprobs = mergeLogprobs(state.logprobs, v as WireObject);
      } else if (k === 'finish_reason') {
        if (v !== null && v !== undefined) state.finish_reason = v;
      } else state[k] = v;
    }
  }
}

function finishChoice(state: WireObject): WireObject {
  const out: WireObject = { ...state };
  if (out.message?.tool_calls)
    out.message.tool_calls = [...(out.message.tool_calls as Map<number, WireObject>).values()];
  out.logprobs ??= null;
  out.finish_reason ??= null;
  return out;
}

function mergeMessage(message: WireObject, delta: WireObject | null | undefined): void {
  if (!delta) return;
  for (const [k, v] of Object.entries(delta)) {
    if (k === 'tool_calls') {
      const calls: Map<number, WireObject> = (message.tool_calls ??= new Map());
      for (const [i, tc] of (Array.isArray(v) ? (v as WireObject[]) : []).entries()) {
        const at = typeof tc.index === 'number' ? tc.index : i;
        let call = calls.get(at);
        if (!call) calls.set(at, (call = {}));
        mergeFields(call, tc, new Set(['index']));
      }
    } else if (k === 'function_call') {
      mergeFields((message.function_call ??= {}), v as WireObject, new Set());
    } else mergeValue(message, k, v);
  }
}

/** Strings concatenate (argument fragments); ids, names and types are set; objects merge. */
function mergeFields(into: WireObject, from: WireObject | null | undefined, skip: Set<string>): void {
  if (!from) return;
  for (const [k, v] of Object.entries(from)) {
    if (skip.has(k)) continue;
    if (v && typeof v === 'object' && !Array.isArray(v)) mergeFields((into[k] ??= {}), v as WireObject, skip);
    else mergeValue(into, k, v);
  }
}

function mergeValue(into: WireObject, k: string, v: unknown): void {
  if (typeof v === 'string' && !SET_FIELDS.has(k) && typeof into[k] === 'string') into[k] += v;
  else if (Array.isArray(v) && Array.isArray(into[k])) into[k] = [...(into[k] as unknown[]), ...v];
  else if (v !== null || into[k] === undefined) into[k] = v;
}

/** Chat (`content` / `refusal`) and legacy (`tokens`, `token_logprobs`, ...) arrays alike. */
function mergeLogprobs(into: WireObject | undefined, from: WireObject): WireObject {
  const out: WireObject = { ...(into ?? {}) };
  for (const [k, v] of Object.entries(from)) {
    if (Array.isArray(v)) out[k] = Array.isArray(out[k]) ? [...(out[k] as unknown[]), ...v] : [...v];
    else if (out[k] === undefined) out[k] = v;
  }
  return out;
}
