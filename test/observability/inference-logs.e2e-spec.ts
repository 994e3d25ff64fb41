import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { type AppConfig } from '../../src/config/app-config';
import { InferenceLogRepository } from '../../src/usage/inference-log.repository';
import { InferenceLogRetention } from '../../src/usage/inference-log.retention';
import { createTestDatabase, queryDb } from '../helpers/test-database';
import { parsePrometheusText, valueOf } from './helpers/prom-text';
import { waitFor } from '../helpers/wait-for';
import { entry, RECORD_PATH, type RecordingApp, startRecordingApp } from './helpers/recording-app';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy';

type Db = Awaited<ReturnType<typeof createTestDatabase>>;

const count = async (url: string, where = 'true') =>
  (await queryDb<{ n: number }>(url, `SELECT count(*)::int AS n FROM inference_logs WHERE ${where}`))[0].n;

async function metric(app: RecordingApp, sample: string, labels: Record<string, string> = {}): Promise<number> {
  return valueOf(parsePrometheusText(await app.metrics.scrape()), sample, labels);
}

/**
 * One request on its own connection (Connection: close). Keep-alive sockets that are busy when
 * shutdown starts would hold server.close() until Fastify's keepAliveTimeout (72 s): an app
 * factory matter, reported separately, that this test does not need to wait out.
 */
function postOnce(app: RecordingApp, requestId: string, body: Record<string, unknown>): Promise<number> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      `${app.baseUrl}${RECORD_PATH}`,
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          'x-request-id': requestId,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function post(app: RecordingApp, requestId: string, body: Record<string, unknown> = {}) {
  return fetch(app.baseUrl + RECORD_PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    body: JSON.stringify(body),
  });
}

describe('inference_logs writer', () => {
  let db: Db;
  let app: RecordingApp;
  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startRecordingApp(db.url, { LOG_FLUSH_MS: '50', LOG_FLUSH_ROWS: '64' });
  });
  afterAll(async () => {
    await app.running.shutdown();
    await db.drop();
  });

  it('does write exactly one row per record() from N concurrent requests, with the right fields', async () => {
    const n = 200;
    const keyId = randomUUID();
    const sent = new Date();
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        post(app, `conc-${i}`, {
          keyId: i % 2 ? keyId : null,
          model: i % 3 ? 'tiny' : 'big',
          provider: i % 3 ? 'onnx' : 'http',
          endpoint: '/v1/chat/completions',
          promptTokens: i,
          completionTokens: 2 * i,
          estimatedTokens: i % 3 === 0,
          cached: i % 5 === 0,
          status: i % 7 ? 200 : 429,
          errorCode: i % 7 ? null : 'rate_limit_exceeded',
          finishReason: i % 7 ? 'length' : null,
          latencyMs: i + 0.5,
          timeToFirstTokenMs: i % 7 ? i / 4 : null,
          delay_ms: i % 10,
        }).then((r) => r.status),
      ),
    );
    expect(answers.every((s) => s === 200)).toBe(true);
    await waitFor('the rows', () => count(db.url), { until: (c) => c >= n, timeoutMs: 10_000 });
    // Two more flushes: nothing is written twice.
    await app.writer.flush();
    await app.writer.flush();
    expect(await count(db.url)).toBe(n);
    const rows = await queryDb<Record<string, any>>(
      db.url,
      `SELECT * FROM inference_logs WHERE request_id LIKE 'conc-%'`,
    );
    expect(rows).toHaveLength(n);
    for (const r of rows) {
      const i = Number(r.request_id.slice(5));
      expect(r).toMatchObject({
        key_id: i % 2 ? keyId : null,
        model: i % 3 ? 'tiny' : 'big',
        provider: i % 3 ? 'onnx' : 'http',
        endpoint: '/v1/chat/completions',
        prompt_tokens: i,
        completion_tokens: 2 * i,
        estimated_tokens: i % 3 === 0,
        cached: i % 5 === 0,
        status: i % 7 ? 200 : 429,
        error_code: i % 7 ? null : 'rate_limit_exceeded',
        finish_reason: i % 7 ? 'length' : null,
        latency_ms: i + 0.5,
        ttft_ms: i % 7 ? i / 4 : null,
      });
      expect(r.created_at).toBeInstanceOf(Date);
      // Stamped when recorded: between sending and now (no bound on how long that took).
      expect(r.created_at.getTime()).toBeGreaterThanOrEqual(sent.getTime());
      expect(r.created_at.getTime()).toBeLessThanOrEqual(Date.now());
    }
    expect(await metric(app, 'llm_inference_logs_written_total')).toBeGreaterThanOrEqual(n);
  });

  it('does drop only a row the database refuses, and write the rest of its batch', async () => {
    // A constraint the writer cannot know about: the row is refused for what it holds.
    await queryDb(db.url, `ALTER TABLE inference_logs ADD CONSTRAINT test_no_poison CHECK (model <> 'poison')`);
    try {
      for (let i = 0; i < 5; i++) app.writer.record(entry(`poison-${i}`, { model: i === 2 ? 'poison' : 'tiny' }));
      await app.writer.flush();
      expect(await count(db.url, `request_id LIKE 'poison-%'`)).toBe(4);
      expect(await metric(app, 'llm_inference_logs_dropped_total', { reason: 'invalid' })).toBe(1);
    } finally {
      await queryDb(db.url, `ALTER TABLE inference_logs DROP CONSTRAINT test_no_poison`);
    }
  });

  it('does clamp odd values instead of failing the batch', async () => {
    app.writer.record(
      entry('odd-1', {
        keyId: 'not-a-uuid',
        promptTokens: -3,
        completionTokens: Number.NaN,
        latencyMs: Infinity,
        status: 99999,
        model: 'm'.repeat(500),
      }),
    );
    await app.writer.flush();
    const [r] = await queryDb<Record<string, any>>(db.url, `SELECT * FROM inference_logs WHERE request_id = 'odd-1'`);
    expect(r).toMatchObject({ key_id: null, prompt_tokens: 0, completion_tokens: 0, latency_ms: 0, status: 0 });
    expect(r.model).toHaveLength(200);
  });

  it('does delete rows older than LOG_RETENTION_DAYS in batches, and nothing when it is 0', async () => {
    const old = new Date(Date.now() - 31 * 86_400_000);
    for (let i = 0; i < 7; i++) app.writer.record(entry(`old-${i}`, { createdAt: old }));
    app.writer.record(entry('recent-1', { createdAt: new Date(Date.now() - 29 * 86_400_000) }));
    await app.writer.flush();
    const repo = app.running.app.get(InferenceLogRepository);
    const off = new InferenceLogRetention(repo, { observability: { logRetentionDays: 0 } } as AppConfig);
    expect(await off.purge()).toBe(0);
    expect(await count(db.url, `request_id LIKE 'old-%'`)).toBe(7);
    // Default LOG_RETENTION_DAYS is 30; batches of 3 rows: 3 + 3 + 1.
    const deleted = await app.running.app.get(InferenceLogRetention).purge(new Date(), 3);
    expect(deleted).toBe(7);
    expect(await count(db.url, `request_id LIKE 'old-%'`)).toBe(0);
    expect(await count(db.url, `request_id = 'recent-1'`)).toBe(1);
  });
});

describe('inference_logs across a graceful shutdown', () => {
  it('does leave every answered request row in the table after shutdown under load', async () => {
    const db = await createTestDatabase();
    try {
      // No flush by size or timer before shutdown: every row depends on the shutdown flush.
      const app = await startRecordingApp(db.url, { LOG_FLUSH_MS: '60000', LOG_FLUSH_ROWS: '100000' });
      const answered: string[] = [];
      const send = (id: string, delay: number) =>
        postOnce(app, id, { delay_ms: delay })
          .then((status) => (status === 200 ? answered.push(id) : undefined))
          .catch(() => undefined); // refused once closing: never answered, never recorded
      const first = Array.from({ length: 200 }, (_, i) => send(`load-${i}`, 20 + (i % 80)));
      // Shut down while about half of them are inside their "generation".
      await waitFor('requests in flight', () => app.started(), { until: (n) => n >= 100, timeoutMs: 10_000 });
      const shutdown = app.running.shutdown();
      const late = Array.from({ length: 50 }, (_, i) => send(`late-${i}`, 5));
      await Promise.all([...first, ...late, shutdown]);
      expect(answered.length).toBeGreaterThan(100);
      const rows = await queryDb<{ request_id: string }>(db.url, `SELECT request_id FROM inference_logs`);
      const stored = new Set(rows.map((r) => r.request_id));
      expect(answered.filter((id) => !stored.has(id))).toEqual([]);
      // And nothing but what was recorded, once each.
      expect(rows).toHaveLength(app.recorded.length);
      expect(stored.size).toBe(app.recorded.length);
    } finally {
      await db.drop();
    }
  });
});

describe('inference_logs while PostgreSQL is unreachable', () => {
  let db: Db;
  let proxy: TcpProxy;
  let app: RecordingApp;
  beforeAll(async () => {
    db = await createTestDatabase();
    const direct = new URL(db.url);
    proxy = await startTcpProxy(direct.hostname, Number(direct.port || 5432));
    const viaProxy = new URL(db.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    app = await startRecordingApp(viaProxy.toString(), {
      LOG_FLUSH_MS: '50',
      LOG_FLUSH_ROWS: '10',
      LOG_BUFFER_MAX: '100',
    });
  });
  afterAll(async () => {
    proxy.up();
    await app.running.shutdown();
    await proxy.close();
    await db.drop();
  });

  it('does hold the rows, retry with backoff, and write them all once it is back', async () => {
    proxy.down();
    for (let i = 0; i < 40; i++) app.writer.record(entry(`outage-${i}`));
    await waitFor('failed flushes', () => metric(app, 'llm_inference_log_flush_failures_total'), {
      until: (n) => n >= 2,
      timeoutMs: 5_000,
    });
    expect(await count(db.url)).toBe(0);
    expect(app.writer.pending).toBeGreaterThanOrEqual(30);
    proxy.up();
    await waitFor('rows after the outage', () => count(db.url), { until: (n) => n >= 40, timeoutMs: 10_000 });
    expect(await count(db.url, `request_id LIKE 'outage-%'`)).toBe(40);
    expect(await metric(app, 'llm_inference_logs_dropped_total', { reason: 'buffer_full' })).toBe(0);
  });

  it('does drop the oldest rows beyond LOG_BUFFER_MAX, counted in llm_inference_logs_dropped_total', async () => {
    proxy.down();
    for (let i = 0; i < 150; i++) app.writer.record(entry(`bound-${i}`));
    // The batch in flight when the bound was hit is put back, then trimmed: 50 dropped in all.
    await waitFor('drops', () => metric(app, 'llm_inference_logs_dropped_total', { reason: 'buffer_full' }), {
      until: (n) => n >= 50,
      timeoutMs: 5_000,
    });
    expect(app.writer.pending).toBe(100);
    proxy.up();
    await waitFor('rows after the outage', () => count(db.url, `request_id LIKE 'bound-%'`), {
      until: (n) => n >= 100,
      timeoutMs: 10_000,
    });
    const rows = await queryDb<{ request_id: string }>(
      db.url,
      `SELECT request_id FROM inference_logs WHERE request_id LIKE 'bound-%'`,
    );
    const kept = rows.map((r) => Number(r.request_id.slice(6))).sort((a, b) => a - b);
    expect(kept).toEqual(Array.from({ length: 100 }, (_, i) => 50 + i));
    expect(await metric(app, 'llm_inference_logs_dropped_total', { reason: 'buffer_full' })).toBe(50);
  });
});
