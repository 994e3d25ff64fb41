import { freePort } from '../../src/database/embedded-postgres.launcher';
import { type RunningNginx, startLocalNginx } from '../../scripts/stack/nginx-local';
import { call } from '../helpers/test-app';
import { SLOW_DELTAS, type StackApp, startStackApp } from './stack-fixture';
import { describeWithTool, ensurePlaygroundBuilt, nginxBinary } from './tools';

/** Reads a stream until `until` holds for the text so far (or the stream ends / time runs out). */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  sofar: { text: string },
  until: (t: string) => boolean,
  ms: number,
): Promise<void> {
  const decoder = new TextDecoder();
  const deadline = Date.now() + ms;
  while (!until(sofar.text)) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out; got so far:\n${sofar.text}`);
    const next = await Promise.race([
      reader.read(),
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), left)),
    ]);
    if (next === 'timeout') continue;
    if (next.done) return;
    sofar.text += decoder.decode(next.value, { stream: true });
  }
}

describeWithTool(
  'nginx',
  nginxBinary(),
  'apt-get install -y nginx',
)('nginx in front of the api (the local stack)', () => {
  let stack: StackApp;
  let nginx: RunningNginx;
  let url: string;
  let key: string;

  beforeAll(async () => {
    ensurePlaygroundBuilt();
    stack = await startStackApp();
    key = stack.app.adminKey;
    const apiPort = Number(new URL(stack.app.baseUrl).port);
    nginx = await startLocalNginx({ listenPort: await freePort(), apiPorts: [apiPort], grafanaPort: await freePort() });
    url = `http://127.0.0.1:${nginx.port}`;
  });
  afterAll(async () => {
    await nginx?.stop();
    await stack?.close();
  });

  it('passes an SSE stream chunk by chunk: the first pieces arrive while the upstream is still holding the rest', async () => {
    stack.upstream.enqueue({ kind: 'pause', afterDeltas: 2 });
    // A client that accepts gzip: compressing the stream would hold its pieces back.
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'accept-encoding': 'gzip' },
      body: JSON.stringify({ model: 'slow', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('content-encoding')).toBeNull();
    expect(res.headers.get('x-cache')).toBe('bypass');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const reader = res.body!.getReader();
    const got = { text: '' };
    await readUntil(reader, got, (t) => t.includes(JSON.stringify(SLOW_DELTAS[1]).slice(1, -1)), 5_000);
    // Through nginx already, yet the upstream has not finished (it is paused): nothing was buffered.
    expect(stack.upstream.completionRequests.at(-1)!.finishedAt).toBeUndefined();
    expect(got.text).not.toContain(SLOW_DELTAS[2]);
    expect(got.text).not.toContain('[DONE]');
    stack.upstream.resume();
    await readUntil(reader, got, (t) => t.includes('data: [DONE]'), 5_000);
    for (const piece of SLOW_DELTAS) expect(got.text).toContain(JSON.stringify(piece).slice(1, -1));
  });

  it('streams the local model through nginx to [DONE]', async () => {
    const res = await fetch(`${url}/v1/generate`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 8, stream: true }),
    });
    const text = await res.text();
    const events = text
      .split('\n\n')
      .filter((b) => b.startsWith('data: '))
      .map((b) => b.slice(6));
    expect(events.at(-1)).toBe('[DONE]');
    expect(JSON.parse(events.at(-2)!)).toMatchObject({
      model: 'tiny',
      finish_reason: expect.any(String),
      usage: { completion_tokens: expect.any(Number) },
    });
  });

  it('reuses one keep-alive connection to the api for successive requests', async () => {
    const server = stack.app.running.app.getHttpServer();
    let opened = 0;
    const count = () => opened++;
    server.on('connection', count);
    try {
      for (let i = 0; i < 5; i++) expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      server.off('connection', count);
    }
    expect(opened).toBeLessThanOrEqual(1);
  });

  it('serves the playground at /ui/ (page and assets, with its CSP) and redirects / and /ui there', async () => {
    const page = await fetch(`${url}/ui/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<title>LLM Server playground</title>');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const script = /<script type="module" crossorigin src="\.\/(assets\/[^"]+\.js)"/.exec(html)![1];
    const asset = await fetch(`${url}/ui/${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${url}/ui/admin.html`)).status).toBe(200);
    for (const path of ['/', '/ui']) {
      const r = await fetch(`${url}${path}`, { redirect: 'manual' });
      expect([path, r.status, r.headers.get('location')]).toEqual([path, path === '/' ? 302 : 301, '/ui/']);
    }
  });

  it('serves the API docs: Swagger UI at /docs and the OpenAPI document at /docs-json', async () => {
    const docs = await fetch(`${url}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger/i);
    const json = await call(url, 'GET', '/docs-json');
    expect(json.status).toBe(200);
    expect(Object.keys(json.body.paths)).toEqual(expect.arrayContaining(['/v1/chat/completions', '/admin/keys']));
  });

  it('adds security headers, keeps the request id, and passes the api errors through unchanged', async () => {
    const r = await call(url, 'GET', '/v1/models', { headers: { 'x-request-id': 'trace-me-123' } });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('missing_api_key');
    expect(r.headers.get('x-request-id')).toBe('trace-me-123');
    expect(r.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(r.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
    expect(r.headers.get('server')).toBe('nginx');
  });

  it('answers what nginx itself refuses in the API error shape: unknown path, /metrics, oversized body, service down', async () => {
    const unknown = await call(url, 'GET', '/nothing-here');
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'not_found']);
    expect((await call(url, 'GET', '/metrics')).status).toBe(404);
    // Over the api's 1 MiB: the api's own 413; over nginx's 8 MiB: nginx's, same shape.
    const big = await call(url, 'POST', '/v1/generate', {
      key,
      rawBody: JSON.stringify({ prompt: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect([big.status, big.body.error.code]).toEqual([413, 'request_too_large']);
    const huge = await call(url, 'POST', '/v1/generate', { key, rawBody: 'x'.repeat(9 * 1024 * 1024) });
    expect([huge.status, huge.body.error.code]).toEqual([413, 'request_too_large']);
    // Nothing listens where Grafana would be.
    const down = await call(url, 'GET', '/grafana/');
    expect([down.status, down.body.error.code, down.headers.get('retry-after')]).toEqual([
      503,
      'service_unavailable',
      '5',
    ]);
  });
});
