import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHttpProviderFactory } from '../../src/models/http/http-provider.factory';
import type { GenerateRequest, LlmProvider } from '../../src/models/provider.interface';
import { ModelRegistry } from '../../src/models/registry/model-registry';
import { ModelRouter } from '../../src/models/registry/model-router';
import { ModelsConfigError } from '../../src/models/registry/models-config';
import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { makeTempDir } from '../helpers/temp-dir';
import { waitFor } from '../helpers/wait-for';

const req: GenerateRequest = {
  prompt: 'hello',
  params: { maxTokens: 8, temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, stop: [] },
};

const config = (chatUrl: string, steadyUrl: string, extra = ''): string => `default_model: chat
models:
  - id: chat
    provider: http
    base_url: ${chatUrl}
    timeout_ms: 5000${extra}
  - id: steady
    provider: http
    base_url: ${steadyUrl}
    timeout_ms: 4000
`;

/** The provider behind a model right now (lease released at once, so it does not hold a reload). */
function providerOf(registry: ModelRegistry, model: string): LlmProvider {
  const lease = registry.acquire(model);
  lease.release({ failed: true });
  return lease.provider;
}

function untilRequests(u: FakeOpenAIUpstream, n: number): Promise<number> {
  return waitFor(`${n} requests upstream`, () => u.completionRequests.length, {
    until: (seen) => seen >= n,
    intervalMs: 5,
  });
}

describe(`${ModelRegistry.name} reload with requests in flight`, () => {
  let a: FakeOpenAIUpstream;
  let b: FakeOpenAIUpstream;
  let file: string;
  let registry: ModelRegistry;
  let router: ModelRouter;

  beforeEach(async () => {
    a = await FakeOpenAIUpstream.start({ deltas: ['from ', 'A'] });
    b = await FakeOpenAIUpstream.start({ deltas: ['from ', 'B'] });
    file = join(makeTempDir('reload-remote'), 'models.yaml');
    writeFileSync(file, config(a.baseUrl, a.baseUrl));
    registry = await ModelRegistry.load(file, {
      http: createHttpProviderFactory({ env: {} }),
      onnx: () => Promise.reject(new Error('unused')),
    });
    router = new ModelRouter(registry);
  });

  afterEach(async () => {
    await registry.close();
    await Promise.all([a.stop(), b.stop()]);
  });

  it('a valid reload swaps at once; the in-flight request finishes on the old provider, closed only after it', async () => {
    a.options.delayMs = 300;
    const oldChat = providerOf(registry, 'chat');
    const oldSteady = providerOf(registry, 'steady');
    const inFlight = router.generate(req, 'chat');
    await untilRequests(a, 1);

    writeFileSync(file, config(b.baseUrl, a.baseUrl));
    const report = await registry.reload();
    expect(report).toMatchObject({ reloaded: ['chat'], unchanged: ['steady'], added: [], removed: [] });
    expect(providerOf(registry, 'steady')).toBe(oldSteady);

    // New requests already go to the new upstream while the old one is still answering.
    await expect(router.generate(req, 'chat')).resolves.toMatchObject({ result: { text: 'from B' } });
    expect(await oldChat.health()).toMatchObject({ up: true, inflight: 1 });

    await expect(inFlight).resolves.toMatchObject({ model: 'chat', result: { text: 'from A' } });
    await report.retired;
    expect(await oldChat.health()).toMatchObject({ up: false, detail: 'closed' });
    expect((await oldSteady.health()).up).toBe(true);
  });

  it('keeps a stream that started before the reload going to its end', async () => {
    a.setDefault({ kind: 'pause', afterDeltas: 1 });
    const oldChat = providerOf(registry, 'chat');
    const s = await router.stream(req, 'chat');
    expect((await s.next()).value).toEqual({ type: 'delta', text: 'from ' });

    writeFileSync(file, config(b.baseUrl, a.baseUrl));
    const report = await registry.reload();
    let retired = false;
    void report.retired.then(() => (retired = true));
    // Not retired while the stream holds its lease: the old provider is open, with one call in flight.
    expect(await oldChat.health()).toMatchObject({ up: true, inflight: 1 });
    expect(retired).toBe(false);

    a.resume();
    const rest: string[] = [];
    for await (const e of s) rest.push(e.type === 'delta' ? e.text : e.type);
    expect(rest).toEqual(['A', 'done']);
    await report.retired;
    expect(await oldChat.health()).toMatchObject({ up: false, detail: 'closed' });
  });

  it('an invalid reload is refused with file, model and field; the old registry keeps serving, in-flight included', async () => {
    a.options.delayMs = 200;
    const oldChat = providerOf(registry, 'chat');
    const inFlight = router.generate(req, 'chat');
    await untilRequests(a, 1);

    writeFileSync(file, config(b.baseUrl, a.baseUrl, '\n    timeout_ms_typo: 5'));
    const err = await registry.reload().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelsConfigError);
    expect((err as Error).message).toBe(`${file}: model "chat": field "timeout_ms_typo": unknown field`);

    await expect(inFlight).resolves.toMatchObject({ result: { text: 'from A' } });
    expect(providerOf(registry, 'chat')).toBe(oldChat);
    await expect(router.generate(req, 'chat')).resolves.toMatchObject({ result: { text: 'from A' } });
    expect(b.completionRequests).toHaveLength(0);
    expect((await oldChat.health()).up).toBe(true);
  });
});
