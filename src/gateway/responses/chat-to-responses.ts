import { responsesUsage } from './response-object';

type Json = Record<string, unknown>;

/** One `chat.completion.chunk` as OpenAI defines it (only the fields read here). */
interface ChatToolCallDelta {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

interface ChatChunk {
  choices?: {
    delta?: { content?: string | null; refusal?: string | null; tool_calls?: ChatToolCallDelta[] | null };
    logprobs?: { content?: unknown[] | null } | null;
    finish_reason?: string | null;
  }[];
  usage?: unknown;
}

interface MessageItem {
  index: number;
  item: Json;
  parts: Json[];
  text?: { index: number; part: Json };
  refusal?: { index: number; part: Json };
}

interface CallItem {
  index: number;
  item: Json;
}

/**
 * Turns a chat completion, given as OpenAI `chat.completion.chunk` objects, into a Response:
 * the typed stream events in OpenAI's order (created, in_progress, output_item.added,
 * content_part.added, output_text.delta, ... done, completed) and the final Response object,
 * which is what `response.completed` carries. A non-streamed answer is the same run with the
 * events discarded, so both forms of one answer agree by construction.
 */
export class ChatToResponses {
  private seq = 0;
  private readonly output: Json[] = [];
  private message?: MessageItem;
  private readonly calls = new Map<number, CallItem>();
  private finishReason: string | null = null;
  private usage: Json | null = null;

  constructor(
    private readonly base: Json,
    private readonly idBase: string,
  ) {}

  /** `response.created` and `response.in_progress`. */
  start(): Json[] {
    const snapshot = { ...this.base };
    return [
      this.event('response.created', { response: snapshot }),
      this.event('response.in_progress', { response: snapshot }),
    ];
  }

  chunk(chunk: ChatChunk): Json[] {
    const out: Json[] = [];
    if (chunk.usage) this.usage = responsesUsage(chunk.usage);
    const choice = chunk.choices?.[0];
    if (!choice) return out;
    const d = choice.delta ?? {};
    if (typeof d.content === 'string' && d.content) out.push(...this.text(d.content, choice.logprobs?.content ?? []));
    if (typeof d.refusal === 'string' && d.refusal) out.push(...this.refusal(d.refusal));
    for (const tc of d.tool_calls ?? []) out.push(...this.toolCall(tc));
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
    return out;
  }

  /** Closes every open item and answers the closing events; `response()` is then final. */
  end(): Json[] {
    const out: Json[] = [];
    if (this.output.length === 0) out.push(...this.openMessage(), ...this.openText());
    out.push(...this.closeMessage(), ...this.closeCalls());
    const final = this.response();
    const type = final.status === 'incomplete' ? 'response.incomplete' : 'response.completed';
    out.push(this.event(type, { response: final }));
    return out;
  }

  /** The Response object as it stands (final after `end()`). */
  response(): Json {
    const incomplete = this.incompleteReason();
    return {
      ...this.base,
      status: incomplete ? 'incomplete' : 'completed',
      incomplete_details: incomplete ? { reason: incomplete } : null,
      output: this.output.map((o) => structuredClone(o)),
      usage: this.usage,
    };
  }

  /** A failure after the stream started: `response.failed` with what was produced so far. */
  failed(code: string, message: string): Json[] {
    const response = { ...this.response(), status: 'failed', incomplete_details: null, error: { code, message } };
    return [this.event('response.failed', { response })];
  }

  /** OpenAI's mid-stream `error` event. */
  error(code: string, message: string, param: string | null): Json[] {
    return [this.event('error', { code, message, param })];
  }

  private incompleteReason(): string | null {
    if (this.finishReason === 'length') return 'max_output_tokens';
    if (this.finishReason === 'content_filter') return 'content_filter';
    return null;
  }

  private get itemStatus(): string {
    return this.incompleteReason() ? 'incomplete' : 'completed';
  }

  private text(delta: string, logprobs: unknown[]): Json[] {
    const out = [...this.openMessage(), ...this.openText()];
    const m = this.message!;
    m.text!.part.text = (m.text!.part.text as string) + delta;
    if (logprobs.length) (m.text!.part.logprobs as unknown[]).push(...logprobs.map(logprob));
    out.push(
      this.event('response.output_text.delta', {
        ...this.at(m, m.text!.index),
        delta,
        logprobs: logprobs.map(logprob),
      }),
    );
    return out;
  }

  private refusal(delta: string): Json[] {
    const out = this.openMessage();
    const m = this.message!;
    if (!m.refusal) {
      const part = { type: 'refusal', refusal: '' };
      m.refusal = { index: m.parts.push(part) - 1, part };
      out.push(this.event('response.content_part.added', { ...this.at(m, m.refusal.index), part: { ...part } }));
    }
    m.refusal.part.refusal = (m.refusal.part.refusal as string) + delta;
    out.push(this.event('response.refusal.delta', { ...this.at(m, m.refusal.index), delta }));
    return out;
  }

  private toolCall(tc: ChatToolCallDelta): Json[] {
    const out: Json[] = [];
    const key = tc.index ?? 0;
    let call = this.calls.get(key);
    if (!call) {
      out.push(...this.closeMessage());
      const item = {
        id: `fc_${this.idBase}_${this.calls.size}`,
        type: 'function_call',
        status: 'in_progress',
        arguments: '',
        call_id: tc.id ?? `call_${this.idBase}_${this.calls.size}`,
        name: tc.function?.name ?? '',
      };
      call = { index: this.output.push(item) - 1, item };
      this.calls.set(key, call);
      out.push(this.event('response.output_item.added', { output_index: call.index, item: { ...item } }));
    }
    const args = tc.function?.arguments;
    if (args) {
      call.item.arguments = (call.item.arguments as string) + args;
      out.push(
        this.event('response.function_call_arguments.delta', {
          item_id: call.item.id,
          output_index: call.index,
          delta: args,
        }),
      );
    }
    return out;
  }

  /** The open message item, or a new one (text after a function call starts a second message). */
  private openMessage(): Json[] {
    if (this.message?.item.status === 'in_progress') return [];
    const id = this.message ? `msg_${this.idBase}_${this.output.length}` : `msg_${this.idBase}`;
    const item: Json = { id, type: 'message', status: 'in_progress', content: [], role: 'assistant' };
    this.message = { index: this.output.push(item) - 1, item, parts: item.content as Json[] };
    return [
      this.event('response.output_item.added', { output_index: this.message.index, item: { ...item, content: [] } }),
    ];
  }

  private openText(): Json[] {
    const m = this.message!;
    if (m.text) return [];
    const part = { type: 'output_text', annotations: [], logprobs: [], text: '' };
    m.text = { index: m.parts.push(part) - 1, part };
    return [this.event('response.content_part.added', { ...this.at(m, m.text.index), part: structuredClone(part) })];
  }

  /** Ends the message item (its parts' done events, then the item's); later text opens no new one. */
  private closeMessage(): Json[] {
    const m = this.message;
    if (!m || m.item.status !== 'in_progress') return [];
    const out: Json[] = [];
    if (m.text) {
      const p = m.text.part;
      out.push(
        this.event('response.output_text.done', { ...this.at(m, m.text.index), text: p.text, logprobs: p.logprobs }),
      );
      out.push(this.event('response.content_part.done', { ...this.at(m, m.text.index), part: structuredClone(p) }));
    }
    if (m.refusal) {
      const p = m.refusal.part;
      out.push(this.event('response.refusal.done', { ...this.at(m, m.refusal.index), refusal: p.refusal }));
      out.push(this.event('response.content_part.done', { ...this.at(m, m.refusal.index), part: structuredClone(p) }));
    }
    m.item.status = this.itemStatus;
    out.push(this.event('response.output_item.done', { output_index: m.index, item: structuredClone(m.item) }));
    return out;
  }

  private closeCalls(): Json[] {
    const out: Json[] = [];
    for (const call of this.calls.values()) {
      if (call.item.status !== 'in_progress') continue;
      call.item.status = this.itemStatus;
      const { id, name } = call.item;
      out.push(
        this.event('response.function_call_arguments.done', {
          item_id: id,
          output_index: call.index,
          name,
          arguments: call.item.arguments,
        }),
      );
      out.push(this.event('response.output_item.done', { output_index: call.index, item: structuredClone(call.item) }));
    }
    return out;
  }

  private at(m: MessageItem, contentIndex: number): Json {
    return { item_id: m.item.id, output_index: m.index, content_index: contentIndex };
  }

  private event(type: string, fields: Json): Json {
    return { type, sequence_number: this.seq++, ...fields };
  }
}

/** A chat logprob entry as an output_text one (same fields; top_logprobs always a list). */
function logprob(l: unknown): Json {
  const e = (l ?? {}) as Json;
  return { token: e.token, logprob: e.logprob, bytes: e.bytes ?? null, top_logprobs: e.top_logprobs ?? [] };
}
