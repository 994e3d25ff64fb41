import { writeFileSync } from 'node:fs';
import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { tinyModelDir, writeModelsYaml } from '../helpers/model-fixtures';
import { call, startTestApp, type TestApp } from '../helpers/test-app';
import { queryDb } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';
import { InferenceLogWriter } from '../../src/usage/inference-log.writer';
import { UsageRecorder } from '../../src/usage/usage.recorder';

/** Reads an SSE response to the end: the data payloads, in order. */
async function sse(res: Response): Promise<string[]> {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((b) => b.startsWith('data: '))
    .map((b) => b.slice(6));
}

describe('routing, fallbacks and streaming through the HTTP API', () => {
  let t: TestApp;
  let primary: FakeOpenAIUpstream;
  let yamlFile: string;
  let yaml: string;
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${t.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'x-api-key': t.adminKey, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    primary = await FakeOpenAIUpstream.start({ deltas: ['from', ' remote'] });
    const dir = await tinyModelDir();
    yaml =
      `default_model: tiny\nmodels:\n  - id: tiny\n    provider: onnx\n    path: ${dir}\n` +
      `  - id: remote\n    provider: http\n    base_url: ${primary.baseUrl}\n    timeout_ms: 1500\n    max_retries: 0\n` +
      `    circuit_breaker: { failure_threshold: 2, cooldown_ms: 400 }\n    fallbacks: [tiny]\n`;
    yamlFile = writeModelsYaml(yaml);
    t = await startTestApp({ MODELS_CONFIG: yamlFile });
  });
  afterAll(async () => {
    await t.close();
    await primary.stop();
  });

  it('uses the default model without `model`, and the remote one by name', async () => {
    const local = await call(t.baseUrl, 'POST', '/v1/generate', {
      key: t.adminKey,
      body: { prompt: 'a', max_tokens: 2 },
    });
    expect(local.body.model).toBe('tiny');
    const remote = await call(t.baseUrl, 'POST', '/v1/generate', {
      key: t.adminKey,
      body: { prompt: 'a', model: 'remote' },
    });
    expect(remote.body.model).toBe('remote');
    expect(remote.body.text).toBe('from remote');
  });

  it('falls back to the local model when the upstream answers 500 or times out', async () => {
    primary.enqueue({ kind: 'status', status: 500 });
    const r500 = await call(t.baseUrl, 'POST', '/v1/generate', {
      key: t.adminKey,
      body: { prompt: 'a', model: 'remote', max_tokens: 2 },
    });
    expect(r500.status).toBe(200);
    expect(r500.body.model).toBe('tiny');
    primary.enqueue({ kind: 'hang' });
    const hung = await call(t.baseUrl, 'POST', '/v1/generate', {
      key: t.adminKey,
      body: { prompt: 'a', model: 'remote', max_tokens: 2 },
    });
    expect(hung.status).toBe(200);
    expect(hung.body.model).toBe('tiny');
  });

  it('opens the breaker after repeated failures, reports it, and closes it after a good probe', async () => {
    await primary.stop();
    for (let i = 0; i < 3; i++) {
      const r = await call(t.baseUrl, 'POST', '/v1/generate', {
        key: t.adminKey,
        body: { prompt: 'a', model: 'remote', max_tokens: 1 },
      });
      expect(r.body.model).toBe('tiny');
    }
    const models = await call(t.baseUrl, 'GET', '/admin/models', { key: t.adminKey });
    const remote = models.body.data.find((m: { id: string }) => m.id === 'remote');
    expect(remote.breaker.state).toBe('open');
    expect(remote.status).toBe('open-circuit');
    // The third call was refused by the open circuit, and is counted as such.
    const metrics = (await call(t.baseUrl, 'GET', '/metrics')).body as string;
    expect(metrics).toMatch(/llm_upstream_requests_total\{model="remote",outcome="circuit_open"\} [1-9]/);
    // The breaker and the upstream's reachability as gauges, sampled at the scrape.
    const gauge = async (name: string) => {
      const text = (await call(t.baseUrl, 'GET', '/metrics')).body as string;
      return Number(new RegExp(`^${name}\\{model="remote"\\} (\\S+)$`, 'm').exec(text)?.[1]);
    };
    expect(await gauge('llm_upstream_circuit_state')).toBe(2);
    await waitFor('model_up to see the upstream gone', () => gauge('llm_model_up'), { until: (v) => v === 0 });
    expect(await gauge('llm_model_up')).toBe(0);
    expect(metrics).not.toMatch(/llm_upstream_circuit_state\{model="tiny"\}/);
    await primary.restart();
    // After the cool-down the breaker lets one probe through (half-open), instead of sleeping past it.
    await waitFor(
      'the breaker to cool down',
      async () =>
        (await call(t.baseUrl, 'GET', '/admin/models', { key: t.adminKey })).body.data.find(
          (m: { id: string }) => m.id === 'remote',
        ).breaker.state,
      { until: (state) => state === 'half-open' },
    );
    const probe = await call(t.baseUrl, 'POST', '/v1/generate', {
      key: t.adminKey,
      body: { prompt: 'a', model: 'remote' },
    });
    expect(probe.body.model).toBe('remote');
    const after = await call(t.baseUrl, 'GET', '/admin/models', { key: t.adminKey });
    expect(after.body.data.find((m: { id: string }) => m.id === 'remote').breaker.state).toBe('closed');
    expect(await gauge('llm_upstream_circuit_state')).toBe(0);
    await waitFor('model_up to see the upstream back', () => gauge('llm_model_up'), { until: (v) => v === 1 });
  });

  it('ends a stream cut by the upstream with an error event, not [DONE]', async () => {
    primary.enqueue({ kind: 'cut', afterDeltas: 1 });
    const res = await post('/v1/chat/completions', {
      model: 'remote',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = await sse(res);
    expect(events).not.toContain('[DONE]');
    const last = JSON.parse(events.at(-1)!);
    expect(last.error.code).toBe('upstream_error');
    expect(events.some((e) => e.includes('"from"'))).toBe(true);
    // What streamed before the cut is still accounted, in the log and in the daily usage.
    await t.running.app.get(InferenceLogWriter).flush();
    const [row] = await queryDb<Record<string, any>>(t.dbUrl, 'SELECT * FROM inference_logs WHERE request_id = $1', [
      res.headers.get('x-request-id'),
    ]);
    expect(row).toEqual(expect.objectContaining({ model: 'remote', status: 200, error_code: 'upstream_error' }));
    expect(row.completion_tokens).toBeGreaterThan(0);
    await t.running.app.get(UsageRecorder).flush();
    const [usage] = await queryDb<{ completion: string }>(
      t.dbUrl,
      "SELECT sum(completion_tokens)::text AS completion FROM usage_daily WHERE model = 'remote'",
    );
    expect(Number(usage.completion)).toBeGreaterThanOrEqual(row.completion_tokens);
  });

  it('aborts the upstream request when the client disconnects mid-stream', async () => {
    primary.enqueue({ kind: 'pause', afterDeltas: 1 });
    const controller = new AbortController();
    const res = await post(
      '/v1/chat/completions',
      { model: 'remote', messages: [{ role: 'user', content: 'x' }], stream: true },
      {},
    );
    const reader = res.body!.getReader();
    await reader.read();
    const upstreamReq = primary.completionRequests.at(-1)!;
    await reader.cancel();
    controller.abort();
    await upstreamReq.closed;
    expect(upstreamReq.clientClosedEarly).toBe(true);
    primary.resume();
  });

  it('stops the local generation when the client disconnects mid-stream', async () => {
    const res = await post('/v1/generate', { prompt: 'go on', max_tokens: 400, temperature: 0, stream: true });
    const reader = res.body!.getReader();
    await reader.read();
    const busy = await call(t.baseUrl, 'GET', '/admin/models', { key: t.adminKey });
    expect(busy.body.data.find((m: { id: string }) => m.id === 'tiny').inflight).toBe(1);
    await reader.cancel();
    await waitFor(
      'tiny to have nothing in flight',
      async () =>
        (await call(t.baseUrl, 'GET', '/admin/models', { key: t.adminKey })).body.data.find(
          (x: { id: string }) => x.id === 'tiny',
        ).inflight,
      { until: (n) => n === 0 },
    );
  });

  it('reloads models.yaml while requests are in flight; a bad file is refused and the old registry keeps serving', async () => {
    primary.enqueue({ kind: 'pause', afterDeltas: 1 });
    const inflight = post('/v1/chat/completions', {
      model: 'remote',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    await waitFor('the upstream to hold a request open', () =>
      primary.completionRequests.some((r) => !r.finishedAt && !r.clientClosedEarly),
    );
    writeFileSync(
      yamlFile,
      yaml.replace(
        '  - id: remote',
        '  - id: remote2\n    provider: http\n    base_url: http://127.0.0.1:9/v1\n  - id: remote',
      ),
    );
    const ok = await call(t.baseUrl, 'POST', '/admin/models/reload', { key: t.adminKey });
    expect(ok.status).toBe(200);
    expect(ok.body.added).toEqual(['remote2']);
    primary.resume();
    const events = await sse(await inflight);
    expect(events.at(-1)).toBe('[DONE]');

    writeFileSync(yamlFile, 'default_model: tiny\nmodels:\n  - id: tiny\n    provider: onnx\n    colour: red\n');
    const bad = await call(t.baseUrl, 'POST', '/admin/models/reload', { key: t.adminKey });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/model "tiny".*colour/);
    const still = await call(t.baseUrl, 'GET', '/v1/models', { key: t.adminKey });
    expect(still.body.data.map((m: { id: string }) => m.id).sort()).toEqual(['remote', 'remote2', 'tiny']);
    writeFileSync(yamlFile, yaml);
  });
});
