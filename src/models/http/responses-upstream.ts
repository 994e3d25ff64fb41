import type { Dispatcher, Pool } from 'undici';
import { abortReason } from './retry-policy';
import { retrying, type RetryContext } from './retrying';
import { SseParser } from './sse-parser';
import { upstreamHeaders, upstreamTransport, type UpstreamEndpointOptions } from './upstream-transport';
import {
  classifyReadError,
  classifyStatus,
  isAbortError,
  readCapped,
  settlePermit,
  type UpstreamFailure,
} from './upstream-errors';

type Json = Record<string, unknown>;

export type ResponsesUpstreamOptions = UpstreamEndpointOptions;

/** What the upstream answered: its typed stream events one by one, or one whole Response. */
export type ResponsesItem = { kind: 'event'; event: Json } | { kind: 'whole'; response: Json };

/**
 * An upstream's `/responses` (models.yaml `api: responses`): the client's Responses request is
 * sent as is, with only `model` replaced and `max_output_tokens` lowered to what the quota and
 * context allow (docs/api.md). Retries, error classification and the circuit breaker are the
 * chat client's (retry-policy.ts, upstream-errors.ts): only what can be retried before any
 * output is retried.
 */
export class ResponsesUpstream {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly retryContext: RetryContext;

  constructor(private readonly opts: ResponsesUpstreamOptions) {
    ({ pool: this.pool, basePath: this.basePath, retryContext: this.retryContext } = upstreamTransport(opts));
  }

  /** The body as the upstream gets it. */
  body(sent: Json, stream: boolean, maxOutputTokens: number, boundCap = true): Json {
    const body: Json = { ...sent, model: this.opts.upstreamModel ?? this.opts.model };
    for (const k of this.opts.dropParams ?? []) delete body[k];
    const asked = body.max_output_tokens;
    // A cap the client did not send only when a finite quota needs the bound (docs/limits.md).
    if (typeof asked === 'number' ? asked > maxOutputTokens : boundCap) body.max_output_tokens = maxOutputTokens;
    if (stream) body.stream = true;
    else if (body.stream != null) body.stream = false;
    if (!stream) delete body.stream_options;
    return body;
  }

  async *send(
    sent: Json,
    o: { stream: boolean; maxOutputTokens: number; boundCap?: boolean; signal?: AbortSignal; requestId?: string },
  ): AsyncGenerator<ResponsesItem> {
    const permit = this.opts.breaker.acquire();
    let res: Dispatcher.ResponseData | undefined;
    let complete = false;
    try {
      const outcome = await this.post(JSON.stringify(this.body(sent, o.stream, o.maxOutputTokens, o.boundCap)), o);
      if ('failure' in outcome) {
        settlePermit(permit, outcome.failure);
        throw outcome.failure.error;
      }
      res = outcome.res;
      permit.success();
      try {
        if (String(res.headers['content-type'] ?? '').includes('application/json')) {
          yield { kind: 'whole', response: (await res.body.json()) as Json };
          complete = true;
          return;
        }
        const parser = new SseParser();
        for await (const chunk of res.body) {
          for (const ev of parser.push(chunk as Buffer)) {
            if (ev.data === '[DONE]' || !ev.data) continue;
            const event = JSON.parse(ev.data) as Json;
            if (typeof event.type !== 'string' && ev.event !== 'message') event.type = ev.event;
            yield { kind: 'event', event };
          }
        }
        for (const ev of parser.end())
          if (ev.data && ev.data !== '[DONE]') yield { kind: 'event', event: JSON.parse(ev.data) as Json };
        complete = true;
      } catch (err) {
        if (o.signal?.aborted || isAbortError(err)) throw o.signal ? abortReason(o.signal) : err;
        this.opts.breaker.reportLateFailure();
        throw classifyReadError(this.opts.model, err).error;
      }
    } finally {
      permit.cancel();
      if (res && !res.body.readableEnded) {
        if (complete) res.body.resume().on('error', () => undefined);
        else res.body.destroy();
      }
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async post(
    body: string,
    o: { stream: boolean; signal?: AbortSignal; requestId?: string },
  ): Promise<{ res: Dispatcher.ResponseData } | { failure: UpstreamFailure }> {
    const headers: Record<string, string> = {
      ...upstreamHeaders(this.opts.apiKey, o.stream),
      ...(o.requestId ? { 'x-request-id': o.requestId } : {}),
    };
    const path = `${this.basePath}/responses`;
    return retrying(this.retryContext, o.signal, async () => {
      const res = await this.pool.request({ method: 'POST', path, headers, body, signal: o.signal });
      if (res.statusCode >= 200 && res.statusCode < 300) return { res };
      return { failure: classifyStatus(this.opts.model, res.statusCode, res.headers, await readCapped(res.body)) };
    });
  }
}
