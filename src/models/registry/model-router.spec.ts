import { ApiError } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-code';
import type { GenerateRequest, StreamEvent } from '../provider.interface';
import { ModelRegistry } from './model-registry';
import { ModelRouter, type UpstreamOutcome } from './model-router';
import { parseModelsConfig } from './models-config';
import { ScriptedProvider } from './testing/scripted-provider';

const req = (signal?: AbortSignal): GenerateRequest => ({
  prompt: 'hi',
  params: { maxTokens: 4, temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, stop: [] },
  signal,
});
const err = (code: ErrorCode, msg: string = code): ApiError => new ApiError(code, msg);

const CONFIG = `
default_model: big
models:
  - { id: big, provider: http, base_url: "http://a/v1", fallbacks: [mid, tiny] }
  - { id: mid, provider: http, base_url: "http://b/v1" }
  - { id: tiny, provider: onnx, path: tiny }
  - { id: lonely, provider: onnx, path: lonely }
`;

describe(ModelRouter.name, () => {
  let providers: Record<string, ScriptedProvider>;
  let outcomes: Array<[string, UpstreamOutcome]>;
  let router: ModelRouter;
  let registry: ModelRegistry;

  beforeEach(async () => {
    providers = {};
    const make = async (cfg: { id: string }, kind: 'onnx' | 'http') =>
      (providers[cfg.id] = new ScriptedProvider(cfg.id, kind));
    registry = await ModelRegistry.create(parseModelsConfig(CONFIG, 'models.yaml'), {
      onnx: (cfg) => make(cfg, 'onnx'),
      http: (cfg) => make(cfg, 'http'),
    });
    outcomes = [];
    router = new ModelRouter(registry, { onUpstreamOutcome: (m, o) => outcomes.push([m, o]) });
  });

  const leasesOut = async (): Promise<number> => (await registry.list()).reduce((n, m) => n + m.inflight, 0);

  it('answers from the requested model when it works', async () => {
    const r = await router.generate(req());
    expect(r).toMatchObject({ model: 'big', requested: 'big', fallback: false, result: { text: 'big!' } });
    expect(outcomes).toEqual([['big', expect.objectContaining({ status: 'ok', fallback: false })]]);
  });

  it('skips a local fallback that cannot honour the body, and says so when no candidate is left', async () => {
    const body = { messages: [{ role: 'user', content: 'hi' }], audio: { voice: 'alloy' } };
    providers.big.queue({ fail: err(ErrorCode.UpstreamTimeout, 'big timed out') });
    providers.mid.queue({ fail: err(ErrorCode.UpstreamError, 'mid failed') });
    const failure = await router.generate({ ...req(), body }, 'big').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApiError);
    expect((failure as ApiError).code).toBe(ErrorCode.UpstreamTimeout);
    expect((failure as ApiError).message).toBe(
      'big timed out; fallback "tiny" (local: does not support "audio") skipped',
    );
    expect(outcomes.map(([m]) => m)).toEqual(['big', 'mid']);
    // A body the local engine honours still falls back to it.
    providers.big.queue({ fail: err(ErrorCode.UpstreamTimeout) });
    providers.mid.queue({ fail: err(ErrorCode.UpstreamError) });
    const r = await router.generate({ ...req(), body: { messages: body.messages, temperature: 0 } }, 'big');
    expect(r.model).toBe('tiny');
    // What only the engine knows it cannot do (tools without a tool-call format) skips it too.
    providers.tiny.refuses = 'tools';
    providers.big.queue({ fail: err(ErrorCode.UpstreamTimeout, 'big timed out') });
    providers.mid.queue({ fail: err(ErrorCode.UpstreamError, 'mid failed') });
    const tools = { messages: body.messages, tools: [{ type: 'function', function: { name: 'f' } }] };
    const skipped = await router.generate({ ...req(), body: tools }, 'big').catch((e: unknown) => e);
    expect((skipped as ApiError).message).toBe(
      'big timed out; fallback "tiny" (local: does not support "tools") skipped',
    );
    expect(await leasesOut()).toBe(0);
  });

  it('falls back in order on retryable failures and says which model served', async () => {
    providers.big.queue({ fail: err(ErrorCode.UpstreamTimeout) });
    providers.mid.queue({ fail: err(ErrorCode.ModelUnavailable) });
    const r = await router.generate(req(), 'big');
    expect(r).toMatchObject({ model: 'tiny', requested: 'big', fallback: true, result: { text: 'tiny!' } });
    expect(outcomes.map(([m, o]) => [m, o.status, o.code, o.fallback])).toEqual([
      ['big', 'error', ErrorCode.UpstreamTimeout, false],
      ['mid', 'error', ErrorCode.ModelUnavailable, true],
      ['tiny', 'ok', undefined, true],
    ]);
    expect(await leasesOut()).toBe(0);
  });

  it('does not fall back on a non-retryable error', async () => {
    providers.big.queue({ fail: err(ErrorCode.InvalidRequest, 'prompt too long') });
    await expect(router.generate(req())).rejects.toMatchObject({ code: ErrorCode.InvalidRequest });
    expect(providers.mid.calls).toBe(0);
  });

  it("throws the requested model's error when every candidate fails", async () => {
    providers.big.queue({ fail: err(ErrorCode.UpstreamTimeout, 'big timed out') });
    providers.mid.queue({ fail: err(ErrorCode.UpstreamError) });
    providers.tiny.queue({ fail: err(ErrorCode.ModelUnavailable) });
    await expect(router.generate(req())).rejects.toThrow('big timed out');
    expect(outcomes).toHaveLength(3);
  });

  it('does not fall back once the client aborted', async () => {
    const ac = new AbortController();
    providers.big.queue({ fail: err(ErrorCode.UpstreamError) });
    ac.abort();
    await expect(router.generate(req(ac.signal))).rejects.toBeDefined();
    expect(providers.mid.calls).toBe(0);
    expect(outcomes[0][1].status).toBe('aborted');
  });

  describe('stream', () => {
    const drain = async (s: AsyncIterable<StreamEvent>): Promise<string[]> => {
      const out: string[] = [];
      for await (const e of s) out.push(e.type === 'delta' ? e.text : 'done');
      return out;
    };

    it('falls back when the model fails before its first event', async () => {
      providers.big.queue({ fail: err(ErrorCode.UpstreamError) });
      providers.mid.queue({ failAfter: 0, error: err(ErrorCode.UpstreamError) });
      const s = await router.stream(req());
      expect(s.model).toBe('tiny');
      expect(await drain(s)).toEqual(['tiny', '!', 'done']);
      expect(outcomes.map(([m, o]) => [m, o.status])).toEqual([
        ['big', 'error'],
        ['mid', 'error'],
        ['tiny', 'ok'],
      ]);
      expect(await leasesOut()).toBe(0);
    });

    it('never falls back after output was streamed: the error reaches the consumer after the deltas', async () => {
      providers.big.queue({ failAfter: 1, error: err(ErrorCode.UpstreamError, 'cut') });
      const s = await router.stream(req());
      const got: string[] = [];
      await expect(
        (async () => {
          for await (const e of s) if (e.type === 'delta') got.push(e.text);
        })(),
      ).rejects.toThrow('cut');
      expect(got).toEqual(['big']);
      expect(providers.mid.calls).toBe(0);
      expect(outcomes).toEqual([['big', expect.objectContaining({ status: 'error', code: ErrorCode.UpstreamError })]]);
      expect(await leasesOut()).toBe(0);
    });

    it('releases the model and stops the provider when the consumer stops early', async () => {
      const s = await router.stream(req());
      expect(await leasesOut()).toBe(1);
      await s.next();
      await s.return();
      expect(await leasesOut()).toBe(0);
      expect(providers.big.events).toContain('stream-closed');
      expect(outcomes[0][1].status).toBe('aborted');
    });

    it('releases the model even when the stream is returned before it is read', async () => {
      const s = await router.stream(req());
      await s.return();
      expect(await leasesOut()).toBe(0);
    });

    it('rejects before any output when no candidate can answer', async () => {
      providers.lonely.queue({ fail: err(ErrorCode.UpstreamError, 'lonely failed') });
      await expect(router.stream(req(), 'lonely')).rejects.toThrow('lonely failed');
    });
  });
});
