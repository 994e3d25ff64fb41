import { tinyModelDir, writeModelsYaml } from '../helpers/model-fixtures';
import { call, startTestApp, type TestApp } from '../helpers/test-app';
import { queryDb } from '../helpers/test-database';
import { InferenceLogWriter } from '../../src/usage/inference-log.writer';

/** The value of one sample line of Prometheus text, or 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return 0;
}

// The request-rate limit is a guard on the inference routes (docs/limits.md): its refusals are
// logged and counted as the pipeline's own refusals are, and the other keyed routes never hit it.
describe('the request-rate limit guard', () => {
  let t: TestApp;
  beforeAll(async () => {
    const dir = await tinyModelDir();
    t = await startTestApp({
      MODELS_CONFIG: writeModelsYaml(
        `default_model: tiny\nmodels:\n  - id: tiny\n    provider: onnx\n    path: ${dir}\n`,
      ),
    });
  });
  afterAll(() => t.close());

  const rateLimited = async () =>
    sample((await call(t.baseUrl, 'GET', '/metrics')).body, 'llm_rate_limited_total', { limit: 'requests' });
  const chat = (key: string) =>
    call(t.baseUrl, 'POST', '/v1/chat/completions', {
      key,
      body: { model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 },
    });

  it('refuses past rpm with its headers, an inference_logs row naming the requested model, and the metric', async () => {
    const key = (await call(t.baseUrl, 'POST', '/admin/keys', { key: t.adminKey, body: { label: 'rpm-1', rpm: 1 } }))
      .body.key;
    const before = await rateLimited();
    const served = await chat(key);
    expect(served.status).toBe(200);
    expect(served.headers.get('x-ratelimit-limit-requests')).toBe('1');
    expect(served.headers.get('x-ratelimit-remaining-requests')).toBe('0');

    const refused = await chat(key);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limit_exceeded');
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(await rateLimited()).toBe(before + 1);

    await t.running.app.get(InferenceLogWriter).flush();
    const rows = await queryDb<Record<string, unknown>>(t.dbUrl, 'SELECT * FROM inference_logs WHERE request_id = $1', [
      refused.headers.get('x-request-id'),
    ]);
    expect(rows).toEqual([
      expect.objectContaining({
        endpoint: '/v1/chat/completions',
        model: 'tiny',
        provider: null,
        status: 429,
        error_code: 'rate_limit_exceeded',
        prompt_tokens: 0,
        completion_tokens: 0,
      }),
    ]);

    // Only the inference routes are limited: the same key still lists its models and usage.
    expect((await call(t.baseUrl, 'GET', '/v1/models', { key })).status).toBe(200);
    expect((await call(t.baseUrl, 'GET', '/v1/usage', { key })).status).toBe(200);
  });

  it('does not count bad input: a malformed body gets its 400 and leaves the limit untouched', async () => {
    const key = (await call(t.baseUrl, 'POST', '/admin/keys', { key: t.adminKey, body: { label: 'rpm-bad', rpm: 1 } }))
      .body.key;
    for (const body of [{ messages: 'not a list' }, { model: 'tiny', messages: [], temperature: 9 }]) {
      const bad = await call(t.baseUrl, 'POST', '/v1/chat/completions', { key, body });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('invalid_request');
    }
    // The one request of the minute is still there.
    const served = await chat(key);
    expect(served.status).toBe(200);
    expect(served.headers.get('x-ratelimit-remaining-requests')).toBe('0');
  });
});
