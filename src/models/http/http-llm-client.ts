import type { Dispatcher, Pool } from 'undici';
import { ApiError } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-code';
import type {
  ChatMessage,
  FinishReason,
  GenerateRequest,
  GenerateResult,
  LlmProvider,
  ProviderHealth,
  StreamEvent,
  TokenUsage,
  WireObject,
} from '../provider.interface';
import { eventsOfResult } from '../wire/result-events';
import { CircuitBreaker, type BreakerPermit, type CircuitBreakerOptions } from './circuit-breaker';
import { HealthProbe } from './health-probe';
import type { ParamsMode } from '../wire-params';
import type { UpstreamUsage } from './openai-wire';
import { WireRequests } from './wire-request';
import { abortReason } from './retry-policy';
import { retrying, type RetryContext } from './retrying';
import { upstreamHeaders, upstreamTransport, type UpstreamTransportOptions } from './upstream-transport';
import { readSse } from './sse-stream-reader';
import { bodyText, requestWhole, WholeBodyError, type WholeResponse } from './whole-request';
import { countInputTokens, doneEvent, estimateTokens, usageOf, wholeResult, type TokenCounter } from './token-estimate';
import {
  UpstreamStreamCutError,
  classifyReadError,
  classifyStatus,
  errorCodeOf,
  isAbortError,
  MAX_ERROR_BODY,
  readCapped,
  settlePermit,
  type UpstreamFailure,
} from './upstream-errors';

/** The transport options (upstream-transport.ts; `model` is also the upstream model unless `upstreamModel`) and the wire's. */
export interface HttpLLMClientOptions extends UpstreamTransportOptions {
  upstreamModel?: string;
  /** Sent as `Authorization: Bearer`; the factory reads it from the `api_key_env` variable. */
  apiKey?: string;
  /** Send top_k / repetition_penalty (vLLM-style extras). */
  extendedSampling?: boolean;
  /** models.yaml `params` / `drop_params` (docs/api.md, wire fidelity). */
  params?: ParamsMode;
  dropParams?: readonly string[];
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
  contextLength?: number;
  /** The model's tokenizer when known; otherwise ~chars/4 and usage is marked estimated. */
  tokenCounter?: TokenCounter;
  breaker?: CircuitBreaker | Partial<CircuitBreakerOptions>;
  health?: { timeoutMs?: number; cacheMs?: number };
}

type SendOutcome = { res: Dispatcher.ResponseData } | { failure: UpstreamFailure };
type WholeOutcome = { res: WholeResponse } | { readError: unknown } | { failure: UpstreamFailure };

/**
 * An OpenAI-compatible upstream (vLLM, TGI, Ollama, llama.cpp server, OpenAI) as an LlmProvider.
 *
 * Transport is undici's Pool rather than axios (the design card's pick): one keep-alive pool per
 * upstream, far less per-request overhead, native AbortSignal and separate connect/headers/body
 * timeouts — all of which streaming LLM traffic needs.
 */
export class HttpLLMClient implements LlmProvider {
  readonly kind = 'http' as const;
  readonly version: string;
  readonly contextLength?: number;
  readonly breaker: CircuitBreaker;
  readonly countsByLength: boolean;

  private readonly pool: Pool;
  private readonly retryContext: RetryContext;
  private readonly count: TokenCounter;
  private readonly healthProbe: HealthProbe;
  private readonly requests: WireRequests;
  private inflight = 0;
  private closed = false;

  constructor(private readonly opts: HttpLLMClientOptions) {
    const transport = upstreamTransport(opts);
    ({ pool: this.pool, retryContext: this.retryContext } = transport);
    const upstreamModel = opts.upstreamModel ?? opts.model;
    this.version = `http:${opts.baseUrl}:${upstreamModel}`;
    this.contextLength = opts.contextLength;
    this.count = opts.tokenCounter ?? estimateTokens;
    this.countsByLength = !opts.tokenCounter;
    this.breaker = opts.breaker instanceof CircuitBreaker ? opts.breaker : new CircuitBreaker(opts.model, opts.breaker);
    this.requests = new WireRequests(transport.basePath, {
      ...opts,
      upstreamModel,
      extendedSampling: !!opts.extendedSampling,
    });
    this.healthProbe = new HealthProbe(
      this.pool,
      `${transport.basePath}/models`,
      upstreamHeaders(opts.apiKey, false),
      opts.health,
    );
  }

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    const permit = this.begin();
    try {
      const outcome = await this.sendWhole(req);
      if ('failure' in outcome) {
        settlePermit(permit, outcome.failure);
        throw outcome.failure.error;
      }
      let result: GenerateResult;
      try {
        if ('readError' in outcome) throw outcome.readError;
        result = await wholeResult(req, JSON.parse(bodyText(outcome.res.body)) as WireObject, this.count);
      } catch (err) {
        if (req.signal?.aborted) throw abortReason(req.signal);
        const failure = classifyReadError(this.opts.model, err);
        settlePermit(permit, failure);
        throw failure.error;
      }
      permit.success();
      return result;
    } finally {
      permit.cancel();
      this.inflight--;
    }
  }

  async *stream(req: GenerateRequest): AsyncGenerator<StreamEvent> {
    const permit = this.begin();
    let body: Dispatcher.ResponseData['body'] | undefined;
    let text = '';
    let upstreamUsage: UpstreamUsage | undefined;
    let rawUsage: WireObject | undefined;
    let finishReason: FinishReason | undefined;
    // Only OpenAI requests (with a body) get the upstream's chunks: /v1/generate wants text.
    const wired = req.body !== undefined;
    let complete = false;
    try {
      const res = await this.sendOrThrow(req, true, permit);
      body = res.body;
      // The upstream answered: that is all a breaker probe needs to know. Never retried from here.
      permit.success();
      if (String(res.headers['content-type'] ?? '').includes('application/json')) {
        // An upstream that ignores `stream: true` answers in one piece: pass it on as one delta.
        const whole = await res.body
          .json()
          .then((json) => wholeResult(req, json as WireObject, this.count))
          .catch((err: unknown) => {
            throw req.signal?.aborted ? abortReason(req.signal) : classifyReadError(this.opts.model, err).error;
          });
        yield* eventsOfResult(whole);
        return;
      }
      try {
        for await (const item of readSse(body)) {
          if (item.kind === 'delta') {
            text += item.text;
            if (wired) yield { type: 'delta', text: item.text, chunk: item.chunk };
            else if (item.text) yield { type: 'delta', text: item.text };
          } else if (item.kind === 'meta') {
            finishReason = item.finishReason ?? finishReason;
            upstreamUsage = item.usage ?? upstreamUsage;
            rawUsage = item.rawUsage ?? rawUsage;
          } else if (item.kind === 'done') {
            complete = true;
            // Yielded at once; the rest of the body is drained when the consumer asks again.
            const usage = await usageOf(req, text, upstreamUsage, this.count);
            yield doneEvent(finishReason ?? 'stop', usage, wired ? rawUsage : undefined);
          } else {
            throw await this.cut(req, text, upstreamUsage, `reported an error mid-stream: ${item.message}`);
          }
        }
      } catch (err) {
        if (complete) return; // after [DONE] nothing can go wrong that the consumer should see
        if (err instanceof UpstreamStreamCutError) throw err;
        if (req.signal?.aborted || isAbortError(err)) throw req.signal ? abortReason(req.signal) : err;
        const timeout = errorCodeOf(err) === 'UND_ERR_BODY_TIMEOUT';
        throw await this.cut(
          req,
          text,
          upstreamUsage,
          timeout ? 'went silent mid-stream' : 'closed the stream early',
          timeout,
        );
      }
      if (complete) return;
      // Lenient: a body that ends cleanly after a finish_reason is complete even without [DONE].
      if (!finishReason) throw await this.cut(req, text, upstreamUsage, 'closed the stream before [DONE]');
      yield doneEvent(finishReason, await usageOf(req, text, upstreamUsage, this.count), wired ? rawUsage : undefined);
    } finally {
      permit.cancel();
      this.inflight--;
      // After [DONE] the connection is healthy: discard what is left so it returns to the pool
      // (a consumer usually stops asking at `done`). Aborted, cut or abandoned mid-answer: drop
      // the socket so the upstream stops generating.
      if (body && !body.readableEnded) {
        if (complete) body.resume().on('error', () => undefined);
        else body.destroy();
      }
    }
  }

  async countTokens(input: string | ChatMessage[]): Promise<number> {
    return countInputTokens(input, this.count);
  }

  async health(): Promise<ProviderHealth> {
    if (this.closed) return { up: false, detail: 'closed', inflight: this.inflight, queued: 0 };
    return { ...(await this.healthProbe.check()), inflight: this.inflight, queued: 0 };
  }

  /** Waits briefly for in-flight requests (the registry only closes drained providers), then drops sockets. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 5_000)));
    const result = await Promise.race([this.pool.close().then(() => 'closed' as const), grace]);
    clearTimeout(timer);
    if (result === 'timeout') await this.pool.destroy();
  }

  private begin(): BreakerPermit {
    if (this.closed) throw new ApiError(ErrorCode.ModelUnavailable, `Model "${this.opts.model}" is being unloaded`);
    const permit = this.breaker.acquire();
    this.inflight++;
    return permit;
  }

  /** Sends with retries; on failure settles the permit and throws the mapped ApiError. */
  private async sendOrThrow(
    req: GenerateRequest,
    stream: boolean,
    permit: BreakerPermit,
  ): Promise<Dispatcher.ResponseData> {
    const outcome = await this.send(req, stream);
    if ('res' in outcome) return outcome.res;
    settlePermit(permit, outcome.failure);
    throw outcome.failure.error;
  }

  private send(req: GenerateRequest, stream: boolean): Promise<SendOutcome> {
    const { path, headers, body } = this.requests.build(req, stream);
    return retrying(this.retryContext, req.signal, async () => {
      const res = await this.pool.request({ method: 'POST', path, headers, body, signal: req.signal });
      if (res.statusCode >= 200 && res.statusCode < 300) return { res };
      return { failure: classifyStatus(this.opts.model, res.statusCode, res.headers, await readCapped(res.body)) };
    });
  }

  /**
   * The non-streamed call: send() with the answer read whole (requestWhole), so retries,
   * classification and aborts are the same. A failure after a 2xx status is a read error.
   */
  private sendWhole(req: GenerateRequest): Promise<WholeOutcome> {
    const { path, headers, body } = this.requests.build(req, false);
    return retrying<WholeOutcome>(
      this.retryContext,
      req.signal,
      async () => {
        const res = await requestWhole(this.pool, {
          path,
          headers,
          body,
          signal: req.signal,
          errorBodyCap: MAX_ERROR_BODY,
        });
        if (res.statusCode >= 200 && res.statusCode < 300) return { res };
        const text = res.body.toString('utf8').slice(0, MAX_ERROR_BODY);
        return { failure: classifyStatus(this.opts.model, res.statusCode, res.headers, text) };
      },
      (err) => (err instanceof WholeBodyError ? { readError: err.cause } : undefined),
    );
  }

  private async cut(
    req: GenerateRequest,
    text: string,
    usage: UpstreamUsage | undefined,
    what: string,
    timeout = false,
  ) {
    this.breaker.reportLateFailure();
    const partialUsage: TokenUsage = {
      promptTokens: usage?.promptTokens ?? (await this.countTokens(req.messages ?? req.prompt ?? '')),
      completionTokens: this.count(text),
      estimated: true,
    };
    return new UpstreamStreamCutError(
      `Upstream of model "${this.opts.model}" ${what}`,
      partialUsage,
      timeout ? ErrorCode.UpstreamTimeout : ErrorCode.UpstreamError,
    );
  }
}
