import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthenticatedKey } from '../../api-keys/authenticated-key';
import { ApiError } from '../../common/errors/api-error';
import { toApiError } from '../../common/errors/all-exceptions.filter';
import { ErrorCode } from '../../common/errors/error-code';
import { responsesUpstreamOf } from '../../models/http';
import { failedOutcome, type FailedUpstreamOutcome } from '../../models/upstream-outcome';
import { UpstreamStreamCutError } from '../../models/http/upstream-errors';
import type { ModelsService } from '../../models/models.service';
import type { ChatMessage, GenerateRequest, StreamEvent, TokenUsage } from '../../models/provider.interface';
import { buildCall } from '../call-builder';
import { isClientClosed } from '../http/sse';
import type { InferenceCall, InferenceRun } from '../inference-call';
import type { ResponsesBody } from './responses.schemas';
import { TypedSseWriter } from './typed-sse';

type Json = Record<string, unknown>;
type OutcomeHook = (model: string, outcome: 'success' | FailedUpstreamOutcome) => void;

const ENDPOINT = '/v1/responses';
const TERMINAL = new Set(['response.completed', 'response.incomplete']);
const FAILED = new Set(['response.failed', 'error']);

/**
 * A /v1/responses request for a model whose upstream speaks that API (`api: responses`): the
 * body goes up as sent (only `model` and a lowered `max_output_tokens` change) and the answer
 * comes back as the upstream gave it, with our id and model. It still runs through the
 * pipeline (keys, limits, quota, settlement, logs, metrics) via `InferenceCall.route`; the
 * pipeline sees the output text and the upstream's usage, while the upstream's own events wait
 * in a queue for the answer. Not cached (`no-store`): docs/api.md says why.
 */
export class PassThrough {
  private readonly queue: Json[] = [];
  private whole?: Json;

  private constructor(
    private readonly models: ModelsService,
    private readonly modelId: string,
    private readonly body: ResponsesBody,
    private readonly onOutcome: OutcomeHook,
  ) {}

  /** A pass-through when the request's model is `api: responses`; undefined otherwise (or unknown). */
  static forModel(models: ModelsService, body: ResponsesBody, onOutcome: OutcomeHook): PassThrough | undefined {
    let model;
    try {
      model = models.resolve(body.model);
    } catch {
      return undefined; // the pipeline refuses it with the same error, and logs it
    }
    if (model.config.provider !== 'http' || model.config.api !== 'responses') return undefined;
    return new PassThrough(models, model.id, body, onOutcome);
  }

  call(key: AuthenticatedKey, req: FastifyRequest, signal: AbortSignal): InferenceCall {
    const input = {
      messages: promptMessages(this.body),
      maxTokens: this.body.max_output_tokens,
      stream: this.body.stream,
    };
    const call = buildCall(ENDPOINT, this.body, input, key, req, signal);
    return { ...call, cacheControl: 'no-store', route: (r) => this.route(r) };
  }

  /** What the pipeline consumes: text deltas and one `done` with the upstream's usage. */
  private async *route(r: GenerateRequest): AsyncGenerator<StreamEvent> {
    const lease = this.models.lease(this.modelId);
    let text = '';
    let outcome: 'success' | FailedUpstreamOutcome | undefined;
    try {
      const upstream = responsesUpstreamOf(lease.provider);
      if (!upstream)
        throw new ApiError(ErrorCode.ModelUnavailable, `model "${this.modelId}" has no /responses upstream`);
      const items = upstream.send(this.body as Json, {
        stream: this.body.stream === true,
        maxOutputTokens: r.params.maxTokens,
        boundCap: r.boundCap,
        signal: r.signal,
        requestId: r.requestId,
      });
      for await (const item of items) {
        if (item.kind === 'whole') {
          this.whole = item.response;
          text = outputText(item.response);
          if (text) yield { type: 'delta', text };
          outcome = 'success';
          yield {
            type: 'done',
            finishReason: finishOf(item.response),
            usage: await this.usage(r, item.response, text),
          };
          return;
        }
        const ev = item.event;
        this.queue.push(ev);
        if (ev.type === 'response.output_text.delta' && typeof ev.delta === 'string') {
          text += ev.delta;
          yield { type: 'delta', text: ev.delta };
        } else if (TERMINAL.has(ev.type as string)) {
          const response = (ev.response ?? {}) as Json;
          outcome = 'success';
          yield { type: 'done', finishReason: finishOf(response), usage: await this.usage(r, response, text) };
          return;
        } else if (FAILED.has(ev.type as string)) {
          throw await this.cut(r, text, `reported ${String(ev.type)}: ${failureMessage(ev)}`);
        } else {
          // Forwarded now, not when the next text arrives.
          yield { type: 'delta', text: '' };
        }
      }
      throw await this.cut(r, text, 'closed the stream before response.completed');
    } catch (err) {
      // Counted as the router counts its attempts (llm_upstream_requests_total); a client that left is no outcome.
      if (!r.signal?.aborted) outcome = failedOutcome(err);
      throw err;
    } finally {
      lease.release({ failed: outcome !== 'success' });
      if (outcome) this.onOutcome(this.modelId, outcome);
    }
  }

  async answer(reply: FastifyReply, run: InferenceRun, stream: boolean): Promise<void> {
    const ours = (o: Json): Json => ({ ...o, id: `resp_${run.id}`, model: run.model });
    const relay = (ev: Json): Json =>
      ev.response && typeof ev.response === 'object' ? { ...ev, response: ours(ev.response as Json) } : ev;
    if (!stream) {
      try {
        for await (const _ of run.events);
      } finally {
        await run.events.return?.();
      }
      const last = this.queue.findLast((e) => TERMINAL.has(e.type as string));
      const whole = this.whole ?? (last?.response as Json | undefined) ?? {};
      reply.headers(run.headers).status(200).send(ours(whole));
      return;
    }
    const sse = new TypedSseWriter(reply, run.headers);
    let seq = -1;
    const flush = () => {
      const events = this.queue.splice(0).map(relay);
      for (const e of events) if (typeof e.sequence_number === 'number') seq = e.sequence_number;
      if (this.whole) events.push(...wholeAsEvents(ours(this.whole)));
      this.whole = undefined;
      sse.send(events);
      return events;
    };
    let lastType: unknown;
    try {
      for await (const _ of run.events) {
        if (!sse.open) break;
        lastType = flush().at(-1)?.type ?? lastType;
      }
      flush();
    } catch (err) {
      lastType = flush().at(-1)?.type ?? lastType;
      const e = toApiError(err);
      if (!isClientClosed(err)) run.onStreamError?.(e.code);
      if (!FAILED.has(lastType as string))
        sse.send([{ type: 'error', sequence_number: seq + 1, code: e.code, message: e.message, param: e.param }]);
    } finally {
      sse.end();
      await run.events.return?.();
    }
  }

  /** The upstream's usage (with its cached and reasoning details); counted here, and marked estimated, when it sent none. */
  private async usage(r: GenerateRequest, response: Json, text: string): Promise<TokenUsage> {
    const u = response.usage as
      | {
          input_tokens?: unknown;
          output_tokens?: unknown;
          input_tokens_details?: { cached_tokens?: unknown } | null;
          output_tokens_details?: { reasoning_tokens?: unknown } | null;
        }
      | undefined;
    if (!isCount(u?.input_tokens) || !isCount(u?.output_tokens))
      return { ...(await this.estimate(r, text)), estimated: true };
    const usage: TokenUsage = { promptTokens: u.input_tokens, completionTokens: u.output_tokens };
    const cached = u.input_tokens_details?.cached_tokens;
    const reasoning = u.output_tokens_details?.reasoning_tokens;
    if (isCount(cached) && cached <= usage.promptTokens) usage.cachedPromptTokens = cached;
    if (isCount(reasoning) && reasoning <= usage.completionTokens) usage.reasoningTokens = reasoning;
    return usage;
  }

  private async cut(r: GenerateRequest, text: string, what: string): Promise<UpstreamStreamCutError> {
    return new UpstreamStreamCutError(`Upstream of model "${this.modelId}" ${what}`, {
      ...(await this.estimate(r, text)),
      estimated: true,
    });
  }

  private async estimate(r: GenerateRequest, text: string): Promise<TokenUsage> {
    return {
      promptTokens: await this.models.countTokens(this.modelId, r.messages ?? ''),
      completionTokens: text ? await this.models.countTokens(this.modelId, text) : 0,
    };
  }
}

/** A text view of the request for the prompt-token estimate (instructions, messages, tool traffic). */
function promptMessages(body: ResponsesBody): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (body.instructions) out.push({ role: 'system', content: body.instructions });
  if (typeof body.input === 'string') return [...out, { role: 'user', content: body.input }];
  for (const raw of body.input) {
    const it = raw as Json;
    const role = ['user', 'system', 'developer', 'assistant'].includes(it.role as string)
      ? (it.role as ChatMessage['role'])
      : 'user';
    const text = [it.content, it.arguments, it.output, it.name].map(textOf).filter(Boolean).join('\n');
    out.push({ role: it.type === 'function_call_output' ? 'tool' : role, content: text });
  }
  return out;
}

function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) return '';
  return v.map((p) => (p && typeof p === 'object' ? textOf((p as Json).text ?? (p as Json).refusal) : '')).join('');
}

function outputText(response: Json): string {
  const output = Array.isArray(response.output) ? (response.output as Json[]) : [];
  return output
    .filter((o) => o?.type === 'message')
    .map((o) => textOf(o.content))
    .join('');
}

function finishOf(response: Json): 'stop' | 'length' {
  return (response.incomplete_details as Json | null | undefined)?.reason === 'max_output_tokens' ? 'length' : 'stop';
}

function failureMessage(ev: Json): string {
  const err = ((ev.response as Json | undefined)?.error ?? ev) as Json;
  return typeof err.message === 'string' ? err.message : 'no message';
}

/** An upstream that ignored `stream: true` and answered in one piece: the two events that say so. */
function wholeAsEvents(response: Json): Json[] {
  const done = response.status === 'incomplete' ? 'response.incomplete' : 'response.completed';
  return [
    { type: 'response.created', sequence_number: 0, response: { ...response, status: 'in_progress', output: [] } },
    { type: done, sequence_number: 1, response },
  ];
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}
