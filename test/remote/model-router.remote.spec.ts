import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '../../src/common/errors/error-code';
import { createHttpProviderFactory } from '../../src/models/http/http-provider.factory';
import { UpstreamStreamCutError } from '../../src/models/http/upstream-errors';
import type { GenerateRequest } from '../../src/models/provider.interface';
import { ModelRegistry } from '../../src/models/registry/model-registry';
import { ModelRouter, type UpstreamOutcome } from '../../src/models/registry/model-router';
import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { makeTempDir } from '../helpers/temp-dir';

const req: GenerateRequest = {
  messages: [{ role: 'user', content: 'hello' }],
  params: { maxTokens: 8, temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, stop: [] },
};

describe(`${ModelRouter.name} over real upstreams`, () => {
  let primary: FakeOpenAIUpstream;
  let backup: FakeOpenAIUpstream;
  let registry: ModelRegistry;
  let router: ModelRouter;
  let outcomes: Array<[string, UpstreamOutcome]>;

  beforeEach(async () => {
    primary = await FakeOpenAIUpstream.start({ deltas: ['from ', 'primary'] });
    backup = await FakeOpenAIUpstream.start({ deltas: ['from ', 'backup'] });
    const dir = makeTempDir('router-remote');
    const file = join(dir, 'models.yaml');
    writeFileSync(
      file,
      `default_model: big
models:
  - id: big
    provider: http
    base_url: \${PRIMARY_URL}
    timeout_ms: 300
    max_retries: 1
    fallbacks: [backup]
    circuit_breaker: { failure_threshold: 2, cooldown_ms: 60000 }
  - id: backup
    provider: http
    base_url: \${BACKUP_URL}
    timeout_ms: 2000
`,
    );
    const env = { PRIMARY_URL: primary.baseUrl, BACKUP_URL: backup.baseUrl };
    const http = createHttpProviderFactory({ env, client: { retry: { baseDelayMs: 5, maxDelayMs: 20 } } });
    registry = await ModelRegistry.load(
      file,
      { http, onnx: () => Promise.reject(new Error('no local models here')) },
      { env },
    );
    outcomes = [];
    router = new ModelRouter(registry, { onUpstreamOutcome: (m, o) => outcomes.push([m, o]) });
  });

  afterEach(async () => {
    await registry.close();
    await Promise.all([primary.stop(), backup.stop()]);
  });

  it('falls back when the primary upstream is down', async () => {
    await primary.stop();
    const r = await router.generate(req);
    expect(r).toMatchObject({ model: 'backup', requested: 'big', fallback: true, result: { text: 'from backup' } });
    expect(outcomes.map(([m, o]) => [m, o.status, o.code])).toEqual([
      ['big', 'error', ErrorCode.ModelUnavailable],
      ['backup', 'ok', undefined],
    ]);
  });

  it('falls back when the primary times out', async () => {
    primary.setDefault({ kind: 'hang' });
    const r = await router.generate(req);
    expect(r.model).toBe('backup');
    expect(outcomes[0][1]).toMatchObject({ status: 'error', code: ErrorCode.UpstreamTimeout });
  });

  it('falls back when the primary answers 500 (after its own retries)', async () => {
    primary.setDefault({ kind: 'status', status: 500 });
    const r = await router.generate(req);
    expect(r.result.text).toBe('from backup');
    expect(primary.completionRequests).toHaveLength(2); // max_retries: 1
    expect(backup.completionRequests).toHaveLength(1);
  });

  it('skips the primary without calling it once its circuit is open', async () => {
    primary.setDefault({ kind: 'status', status: 500 });
    await router.generate(req);
    await router.generate(req);
    expect(registry.resolve('big').status).toBe('open-circuit');
    const calls = primary.completionRequests.length;
    await expect(router.generate(req)).resolves.toMatchObject({ model: 'backup' });
    expect(primary.completionRequests).toHaveLength(calls);
    expect(outcomes.at(-2)?.[1]).toMatchObject({ status: 'error', code: ErrorCode.ModelUnavailable });
  });

  it('streams from the fallback, incrementally, when the primary is down', async () => {
    await primary.stop();
    backup.setDefault({ kind: 'pause', afterDeltas: 1 });
    const s = await router.stream(req);
    expect(s.model).toBe('backup');
    expect(await s.next()).toEqual({ done: false, value: { type: 'delta', text: 'from ' } });
    expect(backup.completionRequests[0].finishedAt).toBeUndefined();
    backup.resume();
    const rest: string[] = [];
    for await (const e of s) rest.push(e.type === 'delta' ? e.text : e.type);
    expect(rest).toEqual(['backup', 'done']);
  });

  it('does not fall back once the primary has streamed output; the cut reaches the caller with partial usage', async () => {
    primary.setDefault({ kind: 'cut', afterDeltas: 1 });
    const s = await router.stream(req);
    expect(s.model).toBe('big');
    const got: string[] = [];
    let error: unknown;
    try {
      for await (const e of s) if (e.type === 'delta') got.push(e.text);
    } catch (e) {
      error = e;
    }
    expect(got).toEqual(['from ']);
    expect(error).toBeInstanceOf(UpstreamStreamCutError);
    expect((error as UpstreamStreamCutError).partialUsage.completionTokens).toBeGreaterThan(0);
    expect(backup.completionRequests).toHaveLength(0);
    expect(primary.completionRequests).toHaveLength(1);
  });
});
