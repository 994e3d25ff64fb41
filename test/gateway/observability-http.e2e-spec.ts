import { tinyModelDir, writeModelsYaml } from '../helpers/model-fixtures';
import { call, startTestApp, type TestApp } from '../helpers/test-app';
import { queryDb } from '../helpers/test-database';
import { InferenceLogWriter } from '../../src/usage/inference-log.writer';

/** The value of one sample line of Prometheus text, or 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return 0;
}

describe('metrics and inference_logs from real inference traffic', () => {
  let yaml: string;
  beforeAll(async () => {
    yaml = writeModelsYaml(
      `default_model: tiny\nmodels:\n  - id: tiny\n    provider: onnx\n    path: ${await tinyModelDir()}\n`,
    );
  });

  it('writes exactly one row per call and metrics that match the traffic', async () => {
    const t: TestApp = await startTestApp({ MODELS_CONFIG: yaml });
    try {
      const ok = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          call(t.baseUrl, 'POST', '/v1/generate', {
            key: t.adminKey,
            body: { prompt: `p${i}`, max_tokens: 3, temperature: 0.9 },
          }),
        ),
      );
      const missing = await Promise.all(
        Array.from({ length: 5 }, () =>
          call(t.baseUrl, 'POST', '/v1/generate', { key: t.adminKey, body: { prompt: 'x', model: 'nope' } }),
        ),
      );
      expect(ok.every((r) => r.status === 200)).toBe(true);
      expect(missing.every((r) => r.status === 404)).toBe(true);
      await t.running.app.get(InferenceLogWriter).flush();
      const rows = await queryDb<Record<string, any>>(t.dbUrl, 'SELECT * FROM inference_logs ORDER BY created_at');
      expect(rows).toHaveLength(25);
      for (const r of ok) {
        const row = rows.find((x) => x.request_id === r.headers.get('x-request-id'))!;
        expect(row).toEqual(
          expect.objectContaining({
            model: 'tiny',
            provider: 'onnx',
            endpoint: '/v1/generate',
            status: 200,
            cached: false,
            finish_reason: r.body.finish_reason,
          }),
        );
        expect(row.prompt_tokens).toBe(r.body.usage.prompt_tokens);
        expect(row.completion_tokens).toBe(r.body.usage.completion_tokens);
        expect(row.latency_ms).toBeGreaterThan(0);
        expect(row.ttft_ms).toBeGreaterThan(0);
      }
      const errors = rows.filter((x) => x.status === 404);
      expect(errors).toHaveLength(5);
      expect(errors.every((x) => x.error_code === 'model_not_found')).toBe(true);

      const metrics = (await call(t.baseUrl, 'GET', '/metrics')).body as string;
      const completion = ok.reduce((n, r) => n + r.body.usage.completion_tokens, 0);
      const prompt = ok.reduce((n, r) => n + r.body.usage.prompt_tokens, 0);
      expect(sample(metrics, 'llm_tokens_total', { model: 'tiny', kind: 'completion' })).toBe(completion);
      expect(sample(metrics, 'llm_tokens_total', { model: 'tiny', kind: 'prompt' })).toBe(prompt);
      expect(sample(metrics, 'llm_inference_duration_seconds_count', { model: 'tiny', provider: 'onnx' })).toBe(20);
      expect(sample(metrics, 'llm_time_to_first_token_seconds_count', { model: 'tiny' })).toBe(20);
      expect(sample(metrics, 'llm_errors_total', { code: 'model_not_found' })).toBe(5);
      expect(sample(metrics, 'llm_model_up', { model: 'tiny' })).toBe(1);
      expect(sample(metrics, 'llm_inflight_requests', { model: 'tiny' })).toBe(0);
      expect(metrics).toMatch(/llm_batch_size_count\{model="tiny"\} [1-9]/);
    } finally {
      await t.close();
    }
  });

  it('keeps the row of every answered request through a graceful shutdown under load', async () => {
    const t: TestApp = await startTestApp({ MODELS_CONFIG: yaml, LOG_FLUSH_MS: '60000', LOG_FLUSH_ROWS: '100000' });
    const answered: string[] = [];
    let firstAnswer!: () => void;
    const first = new Promise<void>((r) => (firstAnswer = r));
    const load = Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        call(t.baseUrl, 'POST', '/v1/generate', {
          key: t.adminKey,
          body: { prompt: `s${i}`, max_tokens: 8, temperature: 0.9 },
        })
          .then((r) => {
            if (r.status === 200) answered.push(r.headers.get('x-request-id')!);
            firstAnswer();
          })
          .catch(() => undefined),
      ),
    );
    // Shut down while the rest are still in flight.
    await first;
    await t.close({ keepDatabase: true });
    await load;
    expect(answered.length).toBeGreaterThan(0);
    const rows = await queryDb<{ request_id: string }>(t.dbUrl, 'SELECT request_id FROM inference_logs');
    const logged = new Set(rows.map((r) => r.request_id));
    for (const id of answered) expect(logged.has(id)).toBe(true);
    await queryDb(
      process.env.DATABASE_URL!,
      `DROP DATABASE IF EXISTS ${new URL(t.dbUrl).pathname.slice(1)} WITH (FORCE)`,
    );
  });
});
