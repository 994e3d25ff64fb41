import { Logger } from '@nestjs/common';
import type { AuthenticatedKey } from '../api-keys/authenticated-key';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code';
import type { MetricsService } from '../metrics/metrics.service';
import { PartialOutputError } from '../models/partial-output.error';
import type { GenerateRequest, StreamEvent, TokenUsage } from '../models/provider.interface';
import { ScriptedProvider } from '../models/registry/testing/scripted-provider';
import { QuotaReservation } from '../quota/quota-reservation';
import type { QuotaService } from '../quota/quota.service';
import { TokenReservation, type RateLimiter } from '../throttling/rate-limiter';
import type { InferenceLogEntry } from '../usage/inference-log.row';
import type { InferenceLogWriter } from '../usage/inference-log.writer';
import type { UsageEvent, UsageRecorder } from '../usage/usage.recorder';
import { AccountedStream } from './accounted-stream';
import { recordRefusal, settle, type Settled, type SettlementContext, type SettlementDeps } from './settlement';

/**
 * In-memory ledgers: each records what settlement told it, so a spec reads what was charged
 * (quota, token window, daily usage), logged (inference_logs) and counted (metrics).
 */
function ledgers(opts: { cacheHitsCount?: boolean; failQuota?: boolean } = {}) {
  const books = {
    quota: [] as { op: 'settle' | 'release' | 'cache-hit'; usage?: TokenUsage }[],
    tpm: [] as number[],
    usage: [] as UsageEvent[],
    logs: [] as InferenceLogEntry[],
    tokens: [] as [string, number, number][],
    details: [] as [string, number, number][],
    inference: [] as [string, string][],
    ttft: 0,
  };
  const quota = {
    cacheHitsCount: opts.cacheHitsCount ?? false,
    async settle(_r: QuotaReservation, usage: TokenUsage) {
      if (opts.failQuota) throw new Error('ledger unreachable');
      books.quota.push({ op: 'settle', usage });
    },
    async release() {
      books.quota.push({ op: 'release' });
    },
    async settleCacheHit(_r: QuotaReservation, usage: TokenUsage) {
      books.quota.push({ op: 'cache-hit', usage });
    },
  };
  const metrics = {
    countTokens: (model: string, p: number, c: number) => books.tokens.push([model, p, c]),
    countTokenDetails: (model: string, cached: number, reasoning: number) =>
      (cached || reasoning) && books.details.push([model, cached, reasoning]),
    observeInference: (model: string, provider: string) => books.inference.push([model, provider]),
    observeTtft: () => books.ttft++,
    observeInterToken: () => undefined,
  };
  const deps: SettlementDeps = {
    quota: quota as unknown as QuotaService,
    limiter: {
      settleTokens: async (_r: TokenReservation, n: number) => void books.tpm.push(n),
    } as unknown as RateLimiter,
    usage: { record: (u: UsageEvent) => books.usage.push(u) } as unknown as UsageRecorder,
    metrics: metrics as unknown as MetricsService,
    logs: { record: (e: InferenceLogEntry) => books.logs.push(e) } as unknown as InferenceLogWriter,
    // Stand-in tokenizer: one token per character, so a recount is easy to read.
    countTokens: async (_model, text) => text.length,
  };
  return { deps, books };
}

const key = { id: 'key-1' } as AuthenticatedKey;

function context(over: Partial<SettlementContext> = {}): SettlementContext {
  return {
    key,
    endpoint: '/v1/chat/completions',
    requestId: 'req-1',
    model: 'm',
    promptTokens: 5,
    quota: new QuotaReservation('key-1', new Date(0), new Date(86_400_000), 10_000, 5, 64, 64, 9_931, 'local'),
    tpm: new TokenReservation('key-1', 69, {}),
    cache: 'miss',
    provider: 'onnx',
    startedAt: performance.now(),
    streaming: true,
    committed: true,
    ...over,
  };
}

const request = { prompt: 'hi', params: {} } as GenerateRequest;

/**
 * Runs a stream as the pipeline does (AccountedStream → settle) and reads it to the end, or
 * stops after `readDeltas` deltas as a client that hangs up. Resolves once settled.
 */
async function run(
  deps: SettlementDeps,
  ctx: SettlementContext,
  inner: AsyncIterator<StreamEvent>,
  readDeltas = Infinity,
): Promise<Settled | undefined> {
  let settled: Settled | undefined;
  const stream = new AccountedStream(inner, async (end) => void (settled = await settle(deps, ctx, end)));
  let deltas = 0;
  try {
    for await (const e of stream) if (e.type === 'delta' && ++deltas >= readDeltas) break;
  } catch {
    // The error is what settlement reports; each spec reads it from the books.
  }
  return settled;
}

async function* cutAfter(deltas: string[]): AsyncGenerator<StreamEvent> {
  for (const text of deltas) yield { type: 'delta', text };
}

const upstreamError = () => new ApiError(ErrorCode.UpstreamError, 'upstream answered 500');

describe('settle', () => {
  it('records cached and reasoning tokens and a tool_calls finish reason as the upstream sent them', async () => {
    const { deps, books } = ledgers();
    const usage = { promptTokens: 30, completionTokens: 12, cachedPromptTokens: 20, reasoningTokens: 7 };
    async function* answer(): AsyncGenerator<StreamEvent> {
      yield { type: 'delta', text: 'f{}' };
      yield { type: 'done', finishReason: 'tool_calls', usage };
    }
    const settled = await run(deps, context({ provider: 'http' }), answer());
    expect(settled?.usage).toEqual(usage);
    expect(books.quota).toEqual([{ op: 'settle', usage }]);
    expect(books.tpm).toEqual([42]);
    expect(books.tokens).toEqual([['m', 30, 12]]);
    expect(books.details).toEqual([['m', 20, 7]]);
    expect(books.logs).toEqual([
      expect.objectContaining({
        finishReason: 'tool_calls',
        cachedPromptTokens: 20,
        reasoningTokens: 7,
        promptTokens: 30,
      }),
    ]);
  });

  it('charges a completed answer what the model reports, on every ledger, and logs it as 200', async () => {
    const { deps, books } = ledgers();
    const provider = new ScriptedProvider('m', 'onnx', ['a', 'b', 'c']);
    const settled = await run(deps, context(), provider.stream(request));
    expect(settled?.usage).toEqual({ promptTokens: 1, completionTokens: 3 });
    expect(books.quota).toEqual([{ op: 'settle', usage: { promptTokens: 1, completionTokens: 3 } }]);
    expect(books.tpm).toEqual([4]);
    expect(books.usage).toEqual([{ keyId: 'key-1', model: 'm', promptTokens: 1, completionTokens: 3, cached: false }]);
    expect(books.logs).toEqual([
      expect.objectContaining({
        requestId: 'req-1',
        keyId: 'key-1',
        provider: 'onnx',
        status: 200,
        errorCode: null,
        finishReason: 'stop',
        promptTokens: 1,
        completionTokens: 3,
        estimatedTokens: false,
        cached: false,
      }),
    ]);
    expect(books.tokens).toEqual([['m', 1, 3]]);
    expect(books.inference).toEqual([['m', 'onnx']]);
    expect(books.ttft).toBe(1);
  });

  it('charges nothing for a failure before any output: the quota is released, no usage, an error row', async () => {
    const { deps, books } = ledgers();
    const provider = new ScriptedProvider('m', 'http').queue({ fail: upstreamError() });
    await run(deps, context({ provider: 'http', streaming: false, committed: false }), provider.stream(request));
    expect(books.quota).toEqual([{ op: 'release' }]);
    expect(books.tpm).toEqual([0]);
    expect(books.usage).toEqual([]);
    expect(books.logs).toEqual([
      expect.objectContaining({
        status: 502,
        errorCode: 'upstream_error',
        promptTokens: 0,
        completionTokens: 0,
        finishReason: null,
      }),
    ]);
    expect(books.tokens).toEqual([]);
    expect(books.inference).toEqual([]);
  });

  it('charges a failure after output what was produced (recounted, estimated for a remote model)', async () => {
    const { deps, books } = ledgers();
    const provider = new ScriptedProvider('m', 'http', ['one ', 'two ', 'three']).queue({
      failAfter: 2,
      error: upstreamError(),
    });
    const settled = await run(deps, context({ provider: 'http' }), provider.stream(request));
    const charged = { promptTokens: 5, completionTokens: 'one two '.length, estimated: true };
    expect(settled?.usage).toEqual(charged);
    expect(books.quota).toEqual([{ op: 'settle', usage: charged }]);
    expect(books.tpm).toEqual([5 + 8]);
    expect(books.usage).toEqual([expect.objectContaining({ promptTokens: 5, completionTokens: 8, cached: false })]);
    // The stream had started (200 sent): the row says 200, with the error's code.
    expect(books.logs).toEqual([
      expect.objectContaining({ status: 200, errorCode: 'upstream_error', estimatedTokens: true, completionTokens: 8 }),
    ]);
    expect(books.tokens).toEqual([['m', 5, 8]]);
    expect(books.inference).toEqual([]);
  });

  it("logs a failure after output of an answer not yet committed with the error's status", async () => {
    const { deps, books } = ledgers();
    const provider = new ScriptedProvider('m', 'onnx', ['one ', 'two']).queue({ failAfter: 1, error: upstreamError() });
    await run(deps, context({ streaming: false, committed: false }), provider.stream(request));
    expect(books.logs).toEqual([
      expect.objectContaining({
        status: 502,
        errorCode: 'upstream_error',
        completionTokens: 4,
        estimatedTokens: false,
      }),
    ]);
  });

  it('charges what the provider says a partial output cost, in whole tokens, instead of a recount', async () => {
    const { deps, books } = ledgers();
    const partial = new PartialOutputError(ErrorCode.UpstreamError, 'cut', {
      promptTokens: 7,
      completionTokens: 2.2,
      estimated: true,
    });
    const provider = new ScriptedProvider('m', 'http', ['x', 'y']).queue({ failAfter: 1, error: partial });
    const settled = await run(deps, context({ provider: 'http' }), provider.stream(request));
    expect(settled?.usage).toEqual({ promptTokens: 7, completionTokens: 3, estimated: true });
    expect(books.quota).toEqual([{ op: 'settle', usage: { promptTokens: 7, completionTokens: 3, estimated: true } }]);
    expect(books.tpm).toEqual([10]);
  });

  it('charges a client that hung up what was generated, and logs 499 client_closed', async () => {
    const { deps, books } = ledgers();
    const provider = new ScriptedProvider('m', 'onnx', ['abc', 'def', 'ghi']);
    const settled = await run(deps, context(), provider.stream(request), 1);
    expect(settled?.end.kind).toBe('cancelled');
    expect(books.quota).toEqual([{ op: 'settle', usage: { promptTokens: 5, completionTokens: 3 } }]);
    expect(books.usage).toEqual([expect.objectContaining({ promptTokens: 5, completionTokens: 3 })]);
    expect(books.logs).toEqual([
      expect.objectContaining({ status: 499, errorCode: 'client_closed', finishReason: null }),
    ]);
    expect(books.inference).toEqual([]);
    expect(provider.events).toContain('stream-closed');
  });

  it('charges a stream cut without a result what it produced, and logs the internal error', async () => {
    const { deps, books } = ledgers();
    const settled = await run(deps, context({ streaming: false, committed: false }), cutAfter(['par', 'tial']));
    expect(settled?.end.kind).toBe('error');
    expect(books.quota).toEqual([{ op: 'settle', usage: { promptTokens: 5, completionTokens: 7 } }]);
    expect(books.logs).toEqual([
      expect.objectContaining({ status: 500, errorCode: 'internal_error', completionTokens: 7 }),
    ]);
  });

  it('never charges a recount past the max_tokens the request reserved', async () => {
    const { deps, books } = ledgers();
    const long = 'x'.repeat(100);
    await run(deps, context(), cutAfter([long]));
    expect(books.quota).toEqual([{ op: 'settle', usage: { promptTokens: 5, completionTokens: 64 } }]);
  });

  it.each([
    [false, 0],
    [true, 4],
  ])('settles a cache hit on its own ledger path (hits count tokens: %s → token window %d)', async (count, tpm) => {
    const { deps, books } = ledgers({ cacheHitsCount: count });
    const provider = new ScriptedProvider('m', 'onnx', ['a', 'b', 'c']);
    await run(deps, context({ cache: 'hit', provider: null }), provider.stream(request));
    expect(books.quota).toEqual([{ op: 'cache-hit', usage: { promptTokens: 1, completionTokens: 3 } }]);
    expect(books.tpm).toEqual([tpm]);
    expect(books.usage).toEqual([expect.objectContaining({ cached: true })]);
    expect(books.logs).toEqual([expect.objectContaining({ cached: true, provider: null, status: 200 })]);
    expect(books.inference).toEqual([]);
  });

  it('still logs and counts a request when a ledger fails, and does not throw', async () => {
    const { deps, books } = ledgers({ failQuota: true });
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const provider = new ScriptedProvider('m', 'onnx', ['a']);
      const settled = await run(deps, context(), provider.stream(request));
      expect(settled?.usage).toEqual({ promptTokens: 1, completionTokens: 1 });
      expect(logged).toHaveBeenCalledWith(
        expect.objectContaining({ request_id: 'req-1' }),
        'could not settle a request',
      );
      expect(books.logs).toEqual([expect.objectContaining({ status: 200 })]);
      expect(books.tokens).toEqual([['m', 1, 1]]);
    } finally {
      logged.mockRestore();
    }
  });
});

describe('recordRefusal', () => {
  it("writes only the refused call's row, with the error's status and code", () => {
    const { deps, books } = ledgers();
    recordRefusal(
      deps,
      { requestId: 'req-2', keyId: 'key-1', endpoint: '/v1/generate', startedAt: performance.now() },
      new ApiError(ErrorCode.RateLimitExceeded, 'slow down'),
    );
    expect(books.logs).toEqual([
      expect.objectContaining({
        requestId: 'req-2',
        model: 'default',
        status: 429,
        errorCode: 'rate_limit_exceeded',
        promptTokens: 0,
        completionTokens: 0,
      }),
    ]);
    expect(books.quota).toEqual([]);
    expect(books.usage).toEqual([]);
  });
});
