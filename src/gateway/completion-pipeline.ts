import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code';
import { AppConfig } from '../config/app-config';
import { ModelsService } from '../models/models.service';
import type { GenerateRequest, StreamEvent } from '../models/provider.interface';
import type { ResolvedModel } from '../models/registry';
import { QuotaService } from '../quota/quota.service';
import { RateLimiter } from '../throttling/rate-limiter';
import { UsageRecorder } from '../usage/usage.recorder';
import { CompletionCache } from '../cache/completion-cache.service';
import { AccountedStream, StreamEnd } from './accounted-stream';
import { isClientClosed } from './http/sse';
import { InferenceCall, InferenceRun } from './inference-call';
import { recordRefusal, settle, SettlementContext, SettlementDeps } from './settlement';
import { MetricsService } from '../metrics/metrics.service';
import { checkParams, cacheExtra } from './forwarded-params';
import { InferenceLogWriter } from '../usage/inference-log.writer';
import { eventsOfResult } from '../models/wire/result-events';

/** When a request names no max_tokens: enough for a real answer, bounded for quota reservations. */
export const DEFAULT_MAX_TOKENS = 512;

/**
 * The completion pipeline (docs/architecture.md, the path of one request): the stages that need
 * the prompt's tokens, after the guards (API key, request rate limit): model and access → prompt
 * size → prompt tokens → token rate limit → quota reservation → cache and router → settlement
 * of every ledger when the answer ends. Controllers only translate HTTP.
 */
@Injectable()
export class CompletionPipeline {
  private readonly deps: SettlementDeps;

  constructor(
    private readonly config: AppConfig,
    private readonly models: ModelsService,
    private readonly limiter: RateLimiter,
    private readonly quota: QuotaService,
    usage: UsageRecorder,
    private readonly cache: CompletionCache,
    private readonly metrics: MetricsService,
    logs: InferenceLogWriter,
  ) {
    this.deps = { quota, limiter, usage, metrics, logs, countTokens: (model, text) => models.countTokens(model, text) };
  }

  async start(call: InferenceCall): Promise<InferenceRun> {
    const startedAt = performance.now();
    try {
      return await this.run(call, startedAt);
    } catch (err) {
      // Settled already (and logged): the client gets the error itself.
      if (err instanceof SettledFailure) throw err.error;
      // Refused before any ledger was touched (limits, quota, model, prompt): its log row.
      recordRefusal(
        this.deps,
        { requestId: call.requestId, keyId: call.key.id, model: call.model, endpoint: call.endpoint, startedAt },
        err,
      );
      throw err;
    }
  }

  private async run(call: InferenceCall, startedAt: number): Promise<InferenceRun> {
    const requestHeaders = call.rateLimitHeaders ?? {};
    const model = this.resolveAllowed(call);
    call.annotate?.({
      model: model.id,
      provider: model.config.provider,
      prompt: call.prompt ?? (() => JSON.stringify(call.messages)),
    });
    this.checkPromptSize(call);
    checkParams(call, model);
    const promptTokens =
      call.promptTokens ?? (await this.models.countTokens(model.id, call.messages ?? call.prompt ?? '', call.body));
    const perChoice = call.promptTokens !== undefined ? 0 : this.maxTokens(call, model, promptTokens);
    // Every choice (n, best_of) generates up to the cap: both reservations cover all of them.
    const choices = choicesOf(call.body);
    const wanted = perChoice * choices;
    const tpm = await this.limiter.reserveTokens(call.key, promptTokens + wanted);
    const headers = { ...requestHeaders, ...tpm.headers };
    // Exact only when this local model alone can answer: a remote upstream, or a fallback with
    // its own tokenizer, counts the prompt its own way, so ours is an estimate (docs/limits.md).
    const estimated = model.config.provider !== 'onnx' || model.config.fallbacks.length > 0;
    const quota = await this.quota
      .reserve(call.key, promptTokens, wanted, { estimated, minCompletion: choices })
      .catch(async (err) => {
        await this.limiter.settleTokens(tpm, 0);
        throw withHeaders(err, headers);
      });
    // A quota that lowered the cap shares what is left between the choices.
    // A finite quota needs the cap upstream even when the client named none (docs/limits.md).
    const req = this.request(
      call,
      choices > 1 ? Math.floor(quota.maxTokens / choices) : quota.maxTokens,
      quota.quotaTokens !== null,
    );
    // The answering model: the requested one, unless a fallback served this computation.
    let served = model.id;
    const result = await this.cache.run(
      {
        model: model.id,
        version: model.version ?? '',
        prompt: call.prompt,
        messages: call.messages,
        params: req.params,
        extra: call.cacheExtra ?? cacheExtra(call.body),
        ttlSeconds: model.config.cacheTtl,
        cacheControl: call.cacheControl,
        choices,
      },
      (signal, cctx) =>
        call.route
          ? call.route({ ...req, signal })
          : this.compute({ ...req, signal }, model.id, call.stream || model.config.provider === 'onnx', (m) => {
              served = m;
              if (m !== model.id) cctx.doNotStore();
            }),
      call.signal,
    );
    const ctx: SettlementContext = {
      key: call.key,
      endpoint: call.endpoint,
      requestId: call.requestId,
      model: model.id,
      promptTokens,
      quota,
      tpm,
      cache: result.source,
      provider: result.source === 'hit' ? null : model.config.provider,
      startedAt,
      streaming: call.stream,
      committed: false,
    };
    call.annotate?.({ cached: result.source === 'hit' });
    if (result.source === 'bypass') this.metrics.cacheBypass();
    this.metrics.inflight(model.id, 1);
    let first: IteratorResult<StreamEvent>;
    try {
      // Pull the first event before answering, so that a failure before any output (every
      // fallback included) is still an HTTP error status rather than a broken 200 stream.
      first = await result.events.next();
    } catch (err) {
      this.metrics.inflight(model.id, -1);
      await result.events.return?.();
      await settle(this.deps, ctx, endOf({ kind: 'error', error: err, text: '' }, call.signal));
      throw new SettledFailure(withHeaders(err, headers));
    }
    ctx.model = served;
    ctx.committed = true;
    const events = new AccountedStream(
      result.events,
      async (end) => {
        this.metrics.inflight(model.id, -1);
        await settle(this.deps, ctx, endOf(end, call.signal));
      },
      first,
    );
    return {
      id: call.requestId.replace(/[^A-Za-z0-9]/g, '').slice(0, 32) || randomUUID().replace(/-/g, ''),
      created: Math.floor(Date.now() / 1000),
      model: served,
      cache: result.source,
      headers: { ...headers, 'x-cache': result.source },
      startedAt,
      events,
      onStreamError: (code) => this.metrics.countError(code),
    };
  }

  /**
   * The cache's compute function: the router, reporting which model answered. A client that
   * did not ask for a stream gets a non-streamed upstream call (cheaper on both sides), seen
   * here as one delta. Local models always stream (it costs nothing there), so a client that
   * hangs up is charged the tokens generated before it left.
   */
  private async *compute(
    req: GenerateRequest,
    model: string,
    stream: boolean,
    onModel: (served: string) => void,
  ): AsyncGenerator<StreamEvent> {
    if (!stream) {
      const routed = await this.models.router.generate(req, model);
      onModel(routed.model);
      yield* eventsOfResult(routed.result);
      return;
    }
    const routed = await this.models.router.stream(req, model);
    onModel(routed.model);
    yield* routed;
  }

  private request(call: InferenceCall, maxTokens: number, boundCap: boolean): GenerateRequest {
    return {
      prompt: call.prompt,
      messages: call.messages,
      params: { ...call.sampling, maxTokens },
      signal: call.signal,
      requestId: call.requestId,
      user: call.user,
      body: call.body,
      boundCap,
    };
  }

  private resolveAllowed(call: InferenceCall): ResolvedModel {
    const model = this.models.resolve(call.model);
    const allowed = call.key.allowedModels;
    if (allowed && !allowed.includes(model.id) && !(call.model && allowed.includes(call.model))) {
      throw new ApiError(ErrorCode.ModelNotAllowed, `this API key may not use model "${model.id}"`, 'model');
    }
    // An encoder cannot chat and a chat model cannot embed: 400 on `model` (docs/embeddings.md).
    const embeds = model.config.task === 'embeddings';
    if (embeds !== (call.endpoint === '/v1/embeddings')) {
      throw ApiError.invalid(
        embeds
          ? `model "${model.id}" is an embeddings model: it serves /v1/embeddings only`
          : `model "${model.id}" is not an embeddings model (models.yaml task: embeddings); it cannot serve /v1/embeddings`,
        'model',
      );
    }
    if (model.status === 'error') {
      throw new ApiError(
        ErrorCode.ModelUnavailable,
        `model "${model.id}" is not available: ${model.error ?? 'failed to load'}`,
        'model',
        { 'retry-after': '30' },
      );
    }
    return model;
  }

  private checkPromptSize(call: InferenceCall): void {
    const chars = call.prompt?.length ?? call.messages?.reduce((n, m) => n + m.content.length, 0) ?? 0;
    if (chars > this.config.limits.maxPromptChars) {
      throw new ApiError(
        ErrorCode.RequestTooLarge,
        `the prompt is ${chars} characters; the limit is ${this.config.limits.maxPromptChars}`,
        call.messages ? 'messages' : 'prompt',
      );
    }
  }

  /** max_tokens defaults, and is capped by what the model's context leaves after the prompt. */
  private maxTokens(call: InferenceCall, model: ResolvedModel, promptTokens: number): number {
    const context = model.contextLength;
    const room = context === undefined ? Infinity : context - promptTokens;
    if (room < 1) {
      throw ApiError.invalid(
        `the prompt is ${promptTokens} tokens; model "${model.id}" has a context length of ${context} tokens, leaving no room for a completion`,
        call.messages ? 'messages' : 'prompt',
      );
    }
    return Math.min(call.maxTokens ?? model.config.defaultMaxTokens ?? DEFAULT_MAX_TOKENS, room);
  }
}

/**
 * A run that failed because its client went away (the abort reason is `client_closed`) was
 * cancelled, not failed: it is recorded as 499 and charged what was generated (docs/limits.md).
 */
function endOf(end: StreamEnd, signal: AbortSignal): StreamEnd {
  if (end.kind !== 'error' || !signal.aborted || !isClientClosed(signal.reason)) return end;
  return { kind: 'cancelled', text: end.text, firstTokenMs: end.firstTokenMs };
}

/** Carries, from run() to start(), an error whose request was already settled and logged, so it is not logged twice. */
class SettledFailure {
  constructor(readonly error: unknown) {}
}

/** Errors after the limiter answered still carry its x-ratelimit-* headers. */
function withHeaders(err: unknown, headers: Record<string, string>): unknown {
  if (err instanceof ApiError)
    return new ApiError(err.code, err.message, err.param, { ...headers, ...err.headers }, err.passThrough);
  return err;
}

/** How many completions one request generates: `n` (or legacy completions' `best_of` when larger) per prompt. */
export function choicesOf(body: Record<string, unknown> | undefined): number {
  const count = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v > 1 ? v : 1);
  // A completions prompt list asks for n choices per prompt (OpenAI's batch form).
  const p = body?.prompt;
  const prompts = Array.isArray(p) && p.length > 0 && typeof p[0] !== 'number' ? p.length : 1;
  return Math.max(count(body?.n), count(body?.best_of)) * prompts;
}
