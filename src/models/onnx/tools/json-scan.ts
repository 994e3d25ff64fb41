/**
 * Scanning JSON text that may still be arriving: where a value ends (-1 while it is incomplete)
 * and, for a tool call object, its name and the raw text of its arguments.
 */

const WS = new Set([' ', '\t', '\n', '\r']);

export function skipWs(text: string, i: number): number {
  while (i < text.length && WS.has(text[i])) i++;
  return i;
}

/** End (exclusive) of the JSON string starting at `i` (a quote), or -1 if not closed yet. */
export function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j + 1;
  }
  return -1;
}

/**
 * End (exclusive) of the JSON value starting at `i` (after whitespace), or -1 if incomplete. A
 * bare primitive at the very end is incomplete unless `final` (more digits may follow).
 */
export function valueEnd(text: string, i: number, final: boolean): number {
  i = skipWs(text, i);
  if (i >= text.length) return -1;
  const c = text[i];
  if (c === '"') return stringEnd(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text[j];
      if (d === '"') {
        const e = stringEnd(text, j);
        if (e < 0) return -1;
        j = e - 1;
      } else if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        if (--depth === 0) return j + 1;
      }
    }
    return -1;
  }
  let j = i;
  while (j < text.length && !WS.has(text[j]) && !',}]'.includes(text[j])) j++;
  return j < text.length || final ? j : -1;
}

/** What is known so far of one `{"name": ..., "arguments": ...}` object. */
export interface ScannedCall {
  name?: string;
  /** Arguments text to send so far (raw JSON of an object; a string value is decoded once complete). */
  args: string;
  argsDone: boolean;
  /** End (exclusive) of the object, or -1 while it is open. */
  end: number;
}

/** Scans the call object at `start` (a '{'); `argKeys` name the arguments field (Llama says "parameters"). */
export function scanCallObject(text: string, start: number, argKeys: readonly string[], final: boolean): ScannedCall {
  const out: ScannedCall = { args: '', argsDone: false, end: -1 };
  let i = skipWs(text, start + 1);
  while (i < text.length) {
    if (text[i] === '}') {
      out.end = i + 1;
      return out;
    }
    if (text[i] === ',') {
      i = skipWs(text, i + 1);
      continue;
    }
    if (text[i] !== '"') return out; // not a call object: stop here, the caller decides
    const keyEnd = stringEnd(text, i);
    if (keyEnd < 0) return out;
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, keyEnd);
    if (i >= text.length) return out;
    if (text[i] !== ':') return out;
    const valueStart = skipWs(text, i + 1);
    const end = valueEnd(text, valueStart, final);
    if (key === 'name') {
      if (end < 0) return out;
      const name: unknown = JSON.parse(text.slice(valueStart, end));
      if (typeof name === 'string') out.name = name;
    } else if (argKeys.includes(key)) {
      if (text[valueStart] === '"') {
        if (end >= 0) [out.args, out.argsDone] = [String(JSON.parse(text.slice(valueStart, end))), true];
      } else {
        out.args = text.slice(valueStart, end < 0 ? text.length : end);
        out.argsDone = end >= 0;
      }
    }
    if (end < 0) return out;
    i = skipWs(text, end);
  }
  return out;
}
