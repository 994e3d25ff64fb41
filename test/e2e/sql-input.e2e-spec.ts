import { randomUUID } from 'node:crypto';
import { InferenceLogWriter } from '../../src/usage/inference-log.writer';
import { call, startTestApp, type TestApp } from '../helpers/test-app';
import { queryDb } from '../helpers/test-database';

/** Input that reaches PostgreSQL: a NUL byte or an out-of-range date is a 400, never a 500 (docs/api.md). */
describe('text and dates bound for SQL', () => {
  let t: TestApp;
  let id: string;
  const snapshot = async () => JSON.stringify(await queryDb(t.dbUrl, 'SELECT * FROM api_keys ORDER BY id'));
  beforeAll(async () => {
    t = await startTestApp({ LOG_FLUSH_MS: '50' });
    id = (await call(t.baseUrl, 'POST', '/admin/keys', { key: t.adminKey, body: { label: 'target' } })).body.id;
  });
  afterAll(() => t.close());

  const bad: [string, string, unknown, string][] = [
    ['POST', '/admin/keys', { label: 'a\u0000b' }, 'label'],
    ['POST', '/admin/keys', { label: '\u0000' }, 'label'],
    ['PATCH', '/admin/keys/ID', { label: 'x\u0000' }, 'label'],
    ['POST', '/admin/keys', { label: 'x', allowed_models: ['tiny\u0000'] }, 'allowed_models.0'],
    ['GET', '/admin/keys?label=a%00b', undefined, 'label'],
    ['GET', '/admin/keys?cursor=%00', undefined, 'cursor'],
    [
      'GET',
      `/admin/keys?cursor=${Buffer.from(`2025-01-01T00:00:00.000Z|${'-'.repeat(36)}`).toString('base64url')}`,
      undefined,
      'cursor',
    ],
    [
      'GET',
      `/admin/keys?cursor=${Buffer.from('-271821-04-20T00:00:00.000Z|00000000-0000-4000-8000-000000000000').toString('base64url')}`,
      undefined,
      'cursor',
    ],
    ['GET', '/admin/keys/ID/usage?from=0000-01-01', undefined, 'from'],
    ['GET', '/admin/keys/ID/usage?to=1969-12-31', undefined, 'to'],
    ['GET', '/admin/usage?from=0000-01-01', undefined, 'from'],
    ['GET', '/admin/usage?to=10000-01-01', undefined, 'to'],
    ['GET', '/admin/usage?from=2025-02-30', undefined, 'from'],
    ['DELETE', '/admin/cache?model=a%00b', undefined, 'model'],
    ['POST', '/v1/generate', { prompt: 'hi', model: 'tiny\u0000' }, 'model'],
    ['POST', '/v1/chat/completions', { model: '\u0000', messages: [{ role: 'user', content: 'hi' }] }, 'model'],
  ];

  it.each(bad)('%s %s %j → 400 invalid_request naming %s, nothing changed', async (method, path, body, param) => {
    const before = await snapshot();
    const r = await call(t.baseUrl, method, path.replace('ID', id), { key: t.adminKey, body });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_request', type: 'invalid_request_error', param });
    expect(await snapshot()).toBe(before);
  });

  it('still trims a label before measuring it', async () => {
    const r = await call(t.baseUrl, 'POST', '/admin/keys', {
      key: t.adminKey,
      body: { label: `  ${'a'.repeat(200)}  ` },
    });
    expect(r.status).toBe(201);
    expect(r.body.label).toBe('a'.repeat(200));
  });

  it('still accepts the first and last days of the supported range', async () => {
    const r = await call(t.baseUrl, 'GET', '/admin/usage?from=1970-01-01&to=1970-12-31', { key: t.adminKey });
    expect(r.status).toBe(200);
  });

  it('never drops an audit row for its content: NUL bytes anywhere in the entry are written', async () => {
    const writer = t.running.app.get(InferenceLogWriter);
    const requestId = `raw-${randomUUID()}`;
    writer.record({
      requestId,
      keyId: null,
      model: 'm\u0000\uD800odel',
      provider: 'onnx\u0000',
      endpoint: '/v1/\u0000generate',
      promptTokens: 1,
      completionTokens: 2,
      cached: false,
      status: 200,
      errorCode: 'x\u0000',
      finishReason: 'stop\u0000',
      latencyMs: 3,
    });
    expect(await writer.flush()).toBe(true);
    const rows = await queryDb<{ model: string }>(t.dbUrl, 'SELECT model FROM inference_logs WHERE request_id = $1', [
      requestId,
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0].model).toMatch(/^m\uFFFD/);
  });
});
