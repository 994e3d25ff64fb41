import { randomUUID } from 'node:crypto';
import { call, startTestApp, type TestApp } from '../helpers/test-app';
import { queryDb } from '../helpers/test-database';
import { EXPECTED_INFERENCE, sendInferenceTraffic } from './helpers/inference-traffic';
import { type Family, hasPromtool, parsePrometheusText, promtoolCheck, valueOf } from './helpers/prom-text';

/** Every family the issue asks for, with its type. */
export const REQUIRED_FAMILIES: Record<string, Family['type']> = {
  llm_http_requests_total: 'counter',
  llm_http_request_duration_seconds: 'histogram',
  llm_errors_total: 'counter',
  llm_cache_requests_total: 'counter',
  llm_tokens_total: 'counter',
  llm_inference_duration_seconds: 'histogram',
  llm_time_to_first_token_seconds: 'histogram',
  llm_inter_token_latency_seconds: 'histogram',
  llm_inflight_requests: 'gauge',
  llm_queue_depth: 'gauge',
  llm_batch_size: 'histogram',
  llm_rate_limited_total: 'counter',
  llm_quota_exhausted_total: 'counter',
  llm_model_up: 'gauge',
  llm_upstream_requests_total: 'counter',
  llm_inference_logs_dropped_total: 'counter',
  llm_process_cpu_seconds_total: 'counter',
  llm_process_resident_memory_bytes: 'gauge',
  llm_nodejs_eventloop_lag_seconds: 'gauge',
  llm_nodejs_heap_size_used_bytes: 'gauge',
};

async function scrape(
  t: TestApp,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${t.baseUrl}/metrics`, { headers });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe('GET /metrics', () => {
  let t: TestApp;
  let text: string;
  let families: Map<string, Family>;
  const get = (sample: string, labels: Record<string, string> = {}) => valueOf(families, sample, labels);

  beforeAll(async () => {
    t = await startTestApp();
    const key = t.adminKey;
    // HTTP traffic: every status below is asserted against the counters.
    for (let i = 0; i < 3; i++) expect((await call(t.baseUrl, 'GET', '/healthz')).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await call(t.baseUrl, 'GET', `/no/such/route/${i}`)).status).toBe(404);
    for (let i = 0; i < 2; i++)
      expect((await call(t.baseUrl, 'GET', `/admin/keys/${randomUUID()}`, { key })).status).toBe(404);
    expect((await call(t.baseUrl, 'GET', '/admin/keys/not-a-uuid', { key })).status).toBe(400);
    expect((await call(t.baseUrl, 'POST', '/admin/keys', { key, rawBody: '{"label":' })).status).toBe(400);
    expect((await call(t.baseUrl, 'GET', '/admin/keys')).status).toBe(401);
    await sendInferenceTraffic(t);
    await scrape(t); // a scrape before the real one: /metrics must not count itself
    const r = await scrape(t);
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
    text = r.text;
    families = parsePrometheusText(text);
  });
  afterAll(() => t.close());

  it('does parse as valid Prometheus text, every name prefixed llm_', () => {
    expect(families.size).toBeGreaterThan(20);
    for (const name of families.keys()) expect(name).toMatch(/^llm_/);
  });

  (hasPromtool() ? it : it.skip)('does pass promtool check metrics (parse and naming lint)', () => {
    const r = promtoolCheck(text);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('does export every required family with its type', () => {
    for (const [name, type] of Object.entries(REQUIRED_FAMILIES)) {
      expect({ name, type: families.get(name)?.type }).toEqual({ name, type });
    }
    // METRICS_PER_KEY is off by default: no key ids anywhere.
    expect(families.has('llm_key_requests_total')).toBe(false);
  });

  it('does count HTTP requests by route template, method and status', () => {
    expect(get('llm_http_requests_total', { route: '/healthz', method: 'GET', status: '200' })).toBe(3);
    expect(get('llm_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' })).toBe(2);
    expect(get('llm_http_requests_total', { route: '/admin/keys/:id', method: 'GET', status: '404' })).toBe(2);
    expect(get('llm_http_requests_total', { route: '/admin/keys/:id', method: 'GET', status: '400' })).toBe(1);
    expect(get('llm_http_requests_total', { route: '/admin/keys', method: 'POST', status: '400' })).toBe(1);
    expect(get('llm_http_requests_total', { route: '/admin/keys', method: 'GET', status: '401' })).toBe(1);
    expect(get('llm_http_request_duration_seconds_count', { route: '/healthz', method: 'GET' })).toBe(3);
    expect(get('llm_http_request_duration_seconds_sum', { route: '/healthz', method: 'GET' })).toBeGreaterThan(0);
    // Raw URLs never become label values.
    expect(text).not.toContain('/no/such/route');
    expect(text).not.toContain('not-a-uuid');
  });

  it('does keep /metrics itself out of the HTTP metrics', () => {
    expect(text).not.toContain('route="/metrics"');
  });

  it('does count error responses by code', () => {
    expect(get('llm_errors_total', { code: 'not_found' })).toBe(4);
    expect(get('llm_errors_total', { code: 'invalid_request' })).toBe(2);
    expect(get('llm_errors_total', { code: 'missing_api_key' })).toBe(1);
    // Zero series exist for every other code, so dashboards show 0 rather than no data.
    expect(families.get('llm_errors_total')!.samples.find((s) => s.labels.code === 'upstream_timeout')?.value).toBe(0);
  });

  it('does count inference families as the traffic sent, unknown models as other', () => {
    const x = EXPECTED_INFERENCE;
    for (const [model, kinds] of Object.entries(x.tokens)) {
      expect(get('llm_tokens_total', { model, kind: 'prompt' })).toBe(kinds.prompt);
      expect(get('llm_tokens_total', { model, kind: 'completion' })).toBe(kinds.completion);
    }
    for (const [model, n] of Object.entries(x.inferences)) {
      const provider = model === 'tiny' ? 'onnx' : 'http';
      expect(get('llm_inference_duration_seconds_count', { model, provider })).toBe(n);
    }
    expect(get('llm_inference_duration_seconds_sum', { model: 'tiny', provider: 'onnx' })).toBeCloseTo(0.3, 6);
    for (const [model, n] of Object.entries(x.ttft))
      expect(get('llm_time_to_first_token_seconds_count', { model })).toBe(n);
    expect(get('llm_inter_token_latency_seconds_count', { model: 'tiny' })).toBe(x.interToken.tiny);
    expect(get('llm_inter_token_latency_seconds_bucket', { model: 'tiny', le: '0.0025' })).toBe(0);
    expect(get('llm_inter_token_latency_seconds_bucket', { model: 'tiny', le: '0.005' })).toBe(9);
    for (const [tier, r] of Object.entries(x.cache)) {
      expect(get('llm_cache_requests_total', { tier, result: 'hit' })).toBe(r.hit);
      expect(get('llm_cache_requests_total', { tier, result: 'miss' })).toBe(r.miss);
    }
    expect(get('llm_cache_requests_total', { tier: 'none', result: 'bypass' })).toBe(x.cacheBypass);
    expect(get('llm_rate_limited_total', { limit: 'requests' })).toBe(x.rateLimited.requests);
    expect(get('llm_rate_limited_total', { limit: 'tokens' })).toBe(x.rateLimited.tokens);
    expect(get('llm_quota_exhausted_total')).toBe(x.quotaExhausted);
    expect(get('llm_upstream_requests_total', { model: 'big', outcome: 'success' })).toBe(1);
    expect(get('llm_upstream_requests_total', { model: 'big', outcome: 'timeout' })).toBe(1);
    expect(get('llm_model_up', { model: 'tiny' })).toBe(1);
    expect(families.get('llm_model_up')!.samples.find((s) => s.labels.model === 'big')?.value).toBe(0);
    expect(
      families
        .get('llm_model_up')!
        .samples.map((s) => s.labels.model)
        .sort(),
    ).toEqual(['big', 'tiny']);
    expect(get('llm_inflight_requests', { model: 'tiny' })).toBe(x.inflight.tiny);
    expect(get('llm_queue_depth', { model: 'tiny' })).toBe(x.queueDepth.tiny);
    expect(get('llm_batch_size_count', { model: 'tiny' })).toBe(2);
    expect(get('llm_batch_size_sum', { model: 'tiny' })).toBe(5);
    expect(text).not.toContain('made-up-model');
  });
});

describe('GET /metrics with METRICS_TOKEN and METRICS_PER_KEY', () => {
  const token = `metrics-${randomUUID()}`;
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ METRICS_TOKEN: token, METRICS_PER_KEY: 'true' });
  });
  afterAll(() => t.close());

  it('does refuse a scrape without the token (401, OpenAI error body) and serve one with it', async () => {
    const none = await call(t.baseUrl, 'GET', '/metrics');
    expect(none.status).toBe(401);
    expect(none.body.error).toMatchObject({ code: 'missing_api_key', type: 'authentication_error' });
    const wrong = await call(t.baseUrl, 'GET', '/metrics', { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_api_key');
    // An admin API key is not a metrics token.
    const apiKey = await call(t.baseUrl, 'GET', '/metrics', { headers: { authorization: `Bearer ${t.adminKey}` } });
    expect(apiKey.status).toBe(401);
    const ok = await scrape(t, { authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('llm_http_requests_total');
  });

  it('does count requests per key id, never the key itself', async () => {
    for (let i = 0; i < 3; i++)
      expect((await call(t.baseUrl, 'GET', '/admin/keys?limit=1', { key: t.adminKey })).status).toBe(200);
    const [{ id }] = await queryDb<{ id: string }>(t.dbUrl, `SELECT id FROM api_keys WHERE label = 'bootstrap'`);
    const { text } = await scrape(t, { authorization: `Bearer ${token}` });
    const families = parsePrometheusText(text);
    expect(families.get('llm_key_requests_total')?.type).toBe('counter');
    expect(valueOf(families, 'llm_key_requests_total', { key_id: id })).toBe(3);
    expect(text).not.toContain(t.adminKey);
    expect(text).not.toContain(token);
  });
});
