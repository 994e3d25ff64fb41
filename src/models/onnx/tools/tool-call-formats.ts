/**
 * How each model family writes tool calls (as vLLM's parsers of the same names read them):
 * - `hermes` (Qwen 2.5 / 3, Hermes): `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`, repeated;
 * - `llama3_json` (Llama 3.1 / 3.2): the whole answer is `{"name": ..., "parameters": {...}}`,
 *   optionally after `<|python_tag|>`, several separated by `;`;
 * - `mistral`: `[TOOL_CALLS][{"name": ..., "arguments": {...}}, ...]`, or the newer
 *   `[TOOL_CALLS]name[ARGS]{...}` / `[TOOL_CALLS]name{...}`.
 */
import { scanCallObject, skipWs, valueEnd, type ScannedCall } from './json-scan';

export type ToolParserName = 'hermes' | 'llama3_json' | 'mistral';
export const TOOL_PARSER_NAMES: readonly ToolParserName[] = ['hermes', 'llama3_json', 'mistral'];

export interface ToolCallFormat {
  readonly name: ToolParserName;
  /** Markers that switch the output to tool calls wherever they appear. */
  readonly markers: readonly string[];
  /** Whether a `{` as the first non-blank character starts tool calls (Llama's bare JSON). */
  readonly jsonAtStart: boolean;
  /** Calls found so far in the text from the first marker on; `rest`: text that is not a call. */
  scan(body: string, final: boolean): { calls: ScannedCall[]; rest: string };
  /** Tool call ids as the family expects them. */
  newId(random: () => number): string;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const randomId = (random: () => number, n: number): string =>
  Array.from({ length: n }, () => ALNUM[Math.floor(random() * ALNUM.length)]).join('');

const hermes: ToolCallFormat = {
  name: 'hermes',
  markers: ['<tool_call>'],
  jsonAtStart: false,
  newId: (r) => `call_${randomId(r, 24)}`,
  scan(body, final) {
    const calls: ScannedCall[] = [];
    let rest = '';
    let at = 0;
    while (at < body.length) {
      const open = body.indexOf('<tool_call>', at);
      if (open < 0) {
        rest += body.slice(at);
        break;
      }
      rest += body.slice(at, open);
      const close = body.indexOf('</tool_call>', open);
      const inner = body.slice(open + '<tool_call>'.length, close < 0 ? body.length : close);
      const start = skipWs(inner, 0);
      if (inner[start] === '{')
        calls.push(scanCallObject(inner, start, ['arguments', 'parameters'], final || close >= 0));
      else if (close >= 0 || final) rest += body.slice(open, close < 0 ? body.length : close + '</tool_call>'.length);
      if (close < 0) break;
      at = close + '</tool_call>'.length;
    }
    return { calls, rest };
  },
};

/** Objects separated by `;` or blanks, from `at`. */
function scanObjects(
  body: string,
  at: number,
  argKeys: readonly string[],
  final: boolean,
): { calls: ScannedCall[]; rest: string } {
  const calls: ScannedCall[] = [];
  for (let i = skipWs(body, at); i < body.length; i = skipWs(body, i)) {
    if (body[i] === ';' || body[i] === ',') {
      i++;
      continue;
    }
    if (body[i] !== '{') return { calls, rest: body.slice(i) };
    const call = scanCallObject(body, i, argKeys, final);
    calls.push(call);
    if (call.end < 0) {
      const end = valueEnd(body, i, final);
      if (end < 0) break;
      i = end; // an object that is not a call: skipped
      continue;
    }
    i = call.end;
  }
  return { calls, rest: '' };
}

const llama3Json: ToolCallFormat = {
  name: 'llama3_json',
  markers: ['<|python_tag|>'],
  jsonAtStart: true,
  newId: (r) => `call_${randomId(r, 24)}`,
  scan(body, final) {
    const at = body.startsWith('<|python_tag|>') ? '<|python_tag|>'.length : 0;
    return scanObjects(body, at, ['parameters', 'arguments'], final);
  },
};

const mistral: ToolCallFormat = {
  name: 'mistral',
  markers: ['[TOOL_CALLS]'],
  jsonAtStart: false,
  newId: (r) => randomId(r, 9), // Mistral's templates require 9 alphanumerics
  scan(body, final) {
    const calls: ScannedCall[] = [];
    for (const part of body.split('[TOOL_CALLS]').slice(1)) {
      let i = skipWs(part, 0);
      if (part[i] === '[') {
        calls.push(...scanObjects(part, i + 1, ['arguments'], final).calls);
        continue;
      }
      const m = /^([A-Za-z0-9_.-]+)(\[ARGS\])?/.exec(part.slice(i));
      if (!m) continue;
      i = skipWs(part, i + m[0].length);
      const pending = i >= part.length || (!m[2] && part.length - i < 6 && '[ARGS]'.startsWith(part.slice(i)));
      if (pending && !final) {
        calls.push({ args: '', argsDone: false, end: -1 }); // name may still grow
        continue;
      }
      const end = valueEnd(part, i, final);
      calls.push({ name: m[1], args: part.slice(i, end < 0 ? part.length : end), argsDone: end >= 0, end });
    }
    return { calls, rest: '' };
  },
};

export const TOOL_CALL_FORMATS: Record<ToolParserName, ToolCallFormat> = { hermes, llama3_json: llama3Json, mistral };

/** The parser a chat template writes for, when it says so. */
export function detectToolParser(template: string | undefined): ToolParserName | undefined {
  if (!template) return undefined;
  if (template.includes('<tool_call>')) return 'hermes';
  if (template.includes('[TOOL_CALLS]')) return 'mistral';
  if (template.includes('<|python_tag|>') || (template.includes('"parameters"') && template.includes('ipython')))
    return 'llama3_json';
  return undefined;
}
