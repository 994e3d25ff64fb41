import { ErrorCode } from '../../src/common/errors/error-code';
import { CircuitBreaker, CircuitOpenError } from '../../src/models/http/circuit-breaker';
import { HttpLLMClient } from '../../src/models/http/http-llm-client';
import type { GenerateRequest } from '../../src/models/provider.interface';
import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { waitFor } from '../helpers/wait-for';

const req: GenerateRequest = {
  prompt: 'hi',
  params: { maxTokens: 4, temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, stop: [] },
};

/** The cool-down is over when the breaker turns half-open (it does so when looked at). */
const cooledDown = (client: HttpLLMClient) =>
  waitFor('the breaker to cool down', () => client.breaker.snapshot().state, {
    until: (state) => state === 'half-open',
  });

describe(`${CircuitBreaker.name} on a real upstream`, () => {
  let upstream: FakeOpenAIUpstream;
  let client: HttpLLMClient;

  beforeEach(async () => {
    upstream = await FakeOpenAIUpstream.start();
    client = new HttpLLMClient({
      model: 'big',
      baseUrl: upstream.baseUrl,
      timeoutMs: 1_000,
      maxRetries: 0,
      breaker: { failureThreshold: 2, cooldownMs: 300 },
    });
  });
  afterEach(async () => {
    await client.close();
    await upstream.stop();
  });

  it('opens after N failures, fails fast without calling the upstream, then a half-open probe closes it', async () => {
    upstream.setDefault({ kind: 'status', status: 500 });
    await expect(client.generate(req)).rejects.toMatchObject({ code: ErrorCode.UpstreamError });
    await expect(client.generate(req)).rejects.toMatchObject({ code: ErrorCode.UpstreamError });
    expect(client.breaker.snapshot()).toMatchObject({ state: 'open', consecutiveFailures: 2 });

    const fast = client.generate(req);
    await expect(fast).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(fast).rejects.toMatchObject({ code: ErrorCode.ModelUnavailable, headers: { 'Retry-After': '1' } });
    // Fast means without calling the upstream: still only the two failed calls.
    expect(upstream.completionRequests).toHaveLength(2);

    upstream.setDefault({ kind: 'ok' });
    await cooledDown(client);
    await expect(client.generate(req)).resolves.toMatchObject({ text: 'Hello, world!' });
    expect(client.breaker.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
    expect(upstream.completionRequests).toHaveLength(3);
  });

  it('opens when the upstream is down (refused), and recovers when it is back', async () => {
    await upstream.stop();
    await expect(client.generate(req)).rejects.toMatchObject({ code: ErrorCode.ModelUnavailable });
    await expect(client.generate(req)).rejects.toMatchObject({ code: ErrorCode.ModelUnavailable });
    await expect(client.generate(req)).rejects.toBeInstanceOf(CircuitOpenError);
    await upstream.restart();
    await cooledDown(client);
    await expect(client.generate(req)).resolves.toMatchObject({ finishReason: 'stop' });
    expect(client.breaker.snapshot().state).toBe('closed');
  });

  it('half-open lets one probe through while concurrent calls fail fast', async () => {
    upstream.setDefault({ kind: 'status', status: 503 });
    await expect(client.generate(req)).rejects.toThrow();
    await expect(client.generate(req)).rejects.toThrow();
    upstream.setDefault({ kind: 'ok' });
    upstream.options.delayMs = 100;
    await cooledDown(client);
    const probe = client.generate(req);
    await expect(client.generate(req)).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(probe).resolves.toMatchObject({ text: 'Hello, world!' });
    expect(upstream.completionRequests).toHaveLength(3);
  });

  it('does not count upstream 4xx answers as failures', async () => {
    upstream.setDefault({ kind: 'status', status: 400 });
    for (let i = 0; i < 3; i++)
      await expect(client.generate(req)).rejects.toMatchObject({ code: ErrorCode.UpstreamError });
    expect(client.breaker.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
  });
});
