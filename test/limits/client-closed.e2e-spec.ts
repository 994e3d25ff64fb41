import { request, type ClientRequest } from 'node:http';
import { Logger } from '@nestjs/common';
import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { tinyModelDir, writeModelsYaml } from '../helpers/model-fixtures';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait-for';
import { createKey, logRow, metricValue, readBooks, removeModelsYaml } from './books';

/** A request on its own socket that the test can hang up at any moment. */
function open(
  app: TestApp,
  path: string,
  key: string,
  requestId: string,
  body: Record<string, unknown>,
): { req: ClientRequest; firstChunk: Promise<void> } {
  const payload = JSON.stringify(body);
  let gotChunk!: () => void;
  const firstChunk = new Promise<void>((r) => (gotChunk = r));
  const req = request(`${app.baseUrl}${path}`, {
    method: 'POST',
    agent: false,
    headers: {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
      'x-api-key': key,
      'x-request-id': requestId,
    },
  });
  req.on('response', (res) =>
    res.on('data', (c: Buffer) =>
      c.toString().includes('"content"') || c.toString().includes('"text"') ? gotChunk() : undefined,
    ),
  );
  req.on('error', () => undefined); // we hang up on purpose
  req.end(payload);
  return { req, firstChunk };
}

describe('a client that hangs up', () => {
  let t: TestApp;
  let upstream: FakeOpenAIUpstream;
  let yaml: string;
  const metrics = async () => (await fetch(`${t.baseUrl}/metrics`)).text();

  beforeAll(async () => {
    upstream = await FakeOpenAIUpstream.start({ deltas: ['one', ' two', ' three', ' four', ' five'], promptTokens: 9 });
    yaml = writeModelsYaml(
      `default_model: tiny\nmodels:\n  - id: tiny\n    provider: onnx\n    path: ${await tinyModelDir()}\n` +
        `  - id: remote\n    provider: http\n    base_url: ${upstream.baseUrl}\n    timeout_ms: 30000\n    max_retries: 0\n`,
    );
    t = await startTestApp({ MODELS_CONFIG: yaml });
  });
  afterAll(async () => {
    upstream.resume();
    await t?.close();
    await upstream.stop();
    removeModelsYaml(yaml);
  });

  /** The row says 499 client_closed; the ledger, usage_daily and inference_logs agree and charge what it says. */
  async function expectClientClosed(keyId: string, requestId: string, minCompletion: number): Promise<void> {
    const row = await waitFor(`the inference_logs row of ${requestId}`, () => logRow([t], requestId));
    expect(row).toMatchObject({ status: 499, error_code: 'client_closed', key_id: keyId });
    expect(row.prompt_tokens).toBeGreaterThan(0);
    expect(row.completion_tokens).toBeGreaterThanOrEqual(minCompletion);
    const books = await readBooks([t], keyId);
    const charged = row.prompt_tokens + row.completion_tokens;
    expect(books).toEqual({ ledger: charged, reserved: 0, usageDaily: charged, logs: charged });
  }

  /** Counted once as a 499 request, never as a 200, a 500 or an internal error; nothing logged at error level. */
  async function expectCountedAs499(route: string, before: string): Promise<void> {
    const after = await metrics();
    const delta = (name: string, labels: Record<string, string>) =>
      metricValue(after, name, labels) - metricValue(before, name, labels);
    expect(delta('llm_http_requests_total', { route, status: '499' })).toBe(1);
    expect(delta('llm_http_requests_total', { route, status: '200' })).toBe(0);
    expect(metricValue(after, 'llm_http_requests_total', { status: '500' })).toBe(0);
    expect(metricValue(after, 'llm_errors_total', { code: 'internal_error' })).toBe(0);
    expect(metricValue(after, 'llm_errors_total', { code: 'client_closed' })).toBe(0);
    expect(errorLogs).not.toHaveBeenCalled();
  }

  let errorLogs: jest.SpyInstance;
  beforeEach(() => {
    errorLogs = jest.spyOn(Logger.prototype, 'error');
  });
  afterEach(() => errorLogs.mockRestore());

  it('records a remote stream aborted after its first chunk as 499 client_closed and charges what arrived', async () => {
    const { key, id } = await createKey(t, { quota_tokens: 100_000 });
    upstream.enqueue({ kind: 'pause', afterDeltas: 2 });
    const before = await metrics();
    const { req, firstChunk } = open(t, '/v1/chat/completions', key, 'closed-remote-stream', {
      model: 'remote',
      stream: true,
      max_tokens: 50,
      messages: [{ role: 'user', content: 'count to five' }],
    });
    await firstChunk;
    req.destroy();
    await expectClientClosed(id, 'closed-remote-stream', 1);
    await expectCountedAs499('/v1/chat/completions', before);
    upstream.resume();
  });

  it('records a remote non-streamed call whose socket closes as 499 and charges its prompt', async () => {
    const { key, id } = await createKey(t, { quota_tokens: 100_000 });
    upstream.enqueue({ kind: 'hang' });
    const seen = upstream.completionRequests.length;
    const before = await metrics();
    const { req } = open(t, '/v1/completions', key, 'closed-remote-whole', {
      model: 'remote',
      prompt: 'a prompt of some length',
      max_tokens: 50,
    });
    await waitFor('the upstream to receive the call', () => upstream.completionRequests.length > seen);
    req.destroy();
    await expectClientClosed(id, 'closed-remote-whole', 0);
    await expectCountedAs499('/v1/completions', before);
  });

  it('records a local stream aborted after its first chunk as 499 and charges the tokens generated so far', async () => {
    const { key, id } = await createKey(t, { quota_tokens: 100_000 });
    const before = await metrics();
    const { req, firstChunk } = open(t, '/v1/generate', key, 'closed-local-stream', {
      prompt: 'hello there',
      stream: true,
      max_tokens: 400,
      temperature: 0.9,
    });
    await firstChunk;
    req.destroy();
    await expectClientClosed(id, 'closed-local-stream', 1);
    await expectCountedAs499('/v1/generate', before);
  });

  it('records a local non-streamed call whose socket closes mid-generation as 499, charged, with no error log', async () => {
    const { key, id } = await createKey(t, { quota_tokens: 100_000 });
    const inflight = async () => metricValue(await metrics(), 'llm_inflight_requests', { model: 'tiny' });
    const before = await metrics();
    const { req } = open(t, '/v1/completions', key, 'closed-local-whole', {
      model: 'tiny',
      prompt: 'hello there',
      // Long enough that it is still generating when the socket closes, even on a loaded machine;
      // seeded, so the sampled text never ends early with an end-of-sequence token.
      max_tokens: 1900,
      temperature: 0.9,
      seed: 7,
    });
    await waitFor('the generation to start', inflight, { until: (n) => n === 1 });
    req.destroy();
    await expectClientClosed(id, 'closed-local-whole', 0);
    await expectCountedAs499('/v1/completions', before);
    await waitFor('the generation to stop', inflight, { until: (n) => n === 0 });
  });
});
