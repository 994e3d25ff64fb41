/**
 * Turns generated text into content and OpenAI-style tool calls, incrementally: `push` each text
 * delta, then `finish`. Text that may be the start of a tool-call marker is held back until the
 * next delta shows what it is. `parseToolCalls` runs the same machine over a whole text, so
 * streamed and non-streamed answers agree exactly.
 */
import { mulberry32 } from '../prng';
import { TOOL_CALL_FORMATS, type ToolCallFormat, type ToolParserName } from './tool-call-formats';

/** One chunk's `delta.tool_calls[]` entry. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function: { name?: string; arguments: string };
}

export interface ToolStreamStep {
  content: string;
  toolCalls: ToolCallDelta[];
}

export interface ParsedToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ToolParseResult {
  /** Text outside tool calls (null when there is none, as OpenAI sends with tool calls). */
  content: string | null;
  toolCalls: ParsedToolCall[];
}

export interface ToolStreamOptions {
  /** Draws for call ids (seeded by the engine so a fixed seed gives identical answers). */
  random?: () => number;
}

export class ToolCallStream {
  private readonly format: ToolCallFormat;
  private readonly random: () => number;
  private pending = ''; // text not yet classified (a possible marker start)
  private body: string | null = null; // text from the first marker on, once tool calls began
  private sawText = false; // a non-blank character went out as content
  private readonly sent: { id: string; args: number }[] = [];

  constructor(parser: ToolParserName | ToolCallFormat, options: ToolStreamOptions = {}) {
    this.format = typeof parser === 'string' ? TOOL_CALL_FORMATS[parser] : parser;
    this.random = options.random ?? Math.random;
  }

  /** Whether tool-call text has begun (the finish reason is then `tool_calls` if calls parse). */
  get inToolCalls(): boolean {
    return this.body !== null;
  }

  push(text: string): ToolStreamStep {
    if (this.body !== null) {
      this.body += text;
      return { content: '', toolCalls: this.emit(false) };
    }
    const all = this.pending + text;
    const at = this.markerAt(all);
    if (at >= 0) {
      this.pending = '';
      this.body = all.slice(at);
      // Blanks before the first call are not an answer (as OpenAI: content null with tool calls).
      const before = this.sawText || /\S/.test(all.slice(0, at)) ? all.slice(0, at) : '';
      return { content: this.content(before), toolCalls: this.emit(false) };
    }
    const keep = this.holdBack(all);
    this.pending = all.slice(all.length - keep);
    return { content: this.content(all.slice(0, all.length - keep)), toolCalls: [] };
  }

  /** Flushes held text; a marker that led to no call gives its text back as content. */
  finish(): ToolStreamStep {
    if (this.body === null) {
      const rest = this.pending;
      this.pending = '';
      return { content: this.content(rest), toolCalls: [] };
    }
    const toolCalls = this.emit(true);
    const { rest } = this.format.scan(this.body, true);
    const content = this.sent.length === 0 ? this.body : rest.trim() ? rest : '';
    return { content: this.content(content), toolCalls };
  }

  /** Number of tool calls sent so far. */
  get callCount(): number {
    return this.sent.length;
  }

  private content(text: string): string {
    if (/\S/.test(text)) this.sawText = true;
    return text;
  }

  private markerAt(text: string): number {
    let best = -1;
    for (const m of this.format.markers) {
      const i = text.indexOf(m);
      if (i >= 0 && (best < 0 || i < best)) best = i;
    }
    if (this.format.jsonAtStart && !this.sawText) {
      const i = text.search(/\S/);
      if (i >= 0 && text[i] === '{' && (best < 0 || i < best)) best = i;
    }
    return best;
  }

  /** Length of the longest suffix that could still become a marker, or all of a blank start. */
  private holdBack(text: string): number {
    let keep = 0;
    for (const m of this.format.markers) {
      for (let n = Math.min(m.length - 1, text.length); n > keep; n--) {
        if (m.startsWith(text.slice(text.length - n))) {
          keep = n;
          break;
        }
      }
    }
    // Leading blanks wait: before a tool call they are dropped (whole-text parsing does the same).
    if (!this.sawText && !/\S/.test(text.slice(0, text.length - keep))) keep = text.length;
    return keep;
  }

  private emit(final: boolean): ToolCallDelta[] {
    const out: ToolCallDelta[] = [];
    const { calls } = this.format.scan(this.body!, final);
    for (let k = 0; k < calls.length; k++) {
      const call = calls[k];
      if (call.name === undefined) break; // later calls wait for this one's name
      if (k === this.sent.length) {
        const id = this.format.newId(this.random);
        this.sent.push({ id, args: 0 });
        out.push({ index: k, id, type: 'function', function: { name: call.name, arguments: '' } });
      }
      const s = this.sent[k];
      // A call that ended without arguments gets an empty object (OpenAI always sends JSON text).
      const args = final && call.args === '' ? '{}' : call.args;
      if (args.length > s.args) {
        const delta = args.slice(s.args);
        s.args = args.length;
        const last = out[out.length - 1];
        if (last && last.index === k) last.function.arguments += delta;
        else out.push({ index: k, function: { arguments: delta } });
      }
    }
    return out;
  }
}

/** Content and tool calls of a whole answer (the same machine as streaming). */
export function parseToolCalls(text: string, parser: ToolParserName, options: ToolStreamOptions = {}): ToolParseResult {
  const stream = new ToolCallStream(parser, options);
  const steps = [stream.push(text), stream.finish()];
  const content = steps.map((s) => s.content).join('');
  const calls: ParsedToolCall[] = [];
  for (const d of steps.flatMap((s) => s.toolCalls)) {
    if (d.id) calls[d.index] = { id: d.id, type: 'function', function: { name: d.function.name ?? '', arguments: '' } };
    calls[d.index].function.arguments += d.function.arguments;
  }
  return { content: calls.length && !/\S/.test(content) ? null : content, toolCalls: calls };
}

/** Seeded ids: `seededRandom(seed)` makes call ids reproducible per request. */
export const seededRandom = (seed: number): (() => number) => mulberry32(seed);
