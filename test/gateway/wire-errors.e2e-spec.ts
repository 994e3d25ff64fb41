import { connect } from 'node:net';
import { call, startTestApp, type TestApp } from '../helpers/test-app';

/** Sends raw bytes on a fresh socket and returns the status and body of the answer. */
function raw(baseUrl: string, request: string): Promise<{ status: number; headers: string; body: string }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer to ${JSON.stringify(request.slice(0, 80))}`)));
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', (err) => (chunks.length ? undefined : reject(err)));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head, ...rest] = text.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, headers: head, body: rest.join('\r\n\r\n') });
    });
    socket.end(request);
  });
}

function expectOpenAiError(body: string, status: number, code: string): void {
  const parsed = JSON.parse(body);
  expect(Object.keys(parsed)).toEqual(['error']);
  expect(Object.keys(parsed.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(parsed.error.code).toBe(code);
  expect(typeof parsed.error.message).toBe('string');
  expect(parsed.error.type).toBe(
    status >= 500 ? 'server_error' : status === 404 ? 'not_found_error' : 'invalid_request_error',
  );
}

/** Errors the framework or Node's HTTP parser produce come out in the OpenAI error shape (docs/api.md). */
describe('framework errors on the wire', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MAX_BODY_BYTES: '2048' });
  });
  afterAll(() => t.close());

  it('answers 431 request_too_large to headers over the limit', async () => {
    const r = await raw(
      t.baseUrl,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`,
    );
    expect(r.status).toBe(431);
    expect(r.headers).toMatch(/content-type: application\/json/i);
    expectOpenAiError(r.body, 431, 'request_too_large');
  });

  it('answers 413 to a body over the limit even while the client is still sending it (no reset before the answer)', async () => {
    const body = JSON.stringify({ prompt: 'x'.repeat(2 * 1024 * 1024) });
    for (let i = 0; i < 5; i++) {
      const r = await raw(
        t.baseUrl,
        `POST /v1/generate HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      expect(r.status).toBe(413);
      expectOpenAiError(r.body, 413, 'request_too_large');
    }
  });

  it('answers 400 invalid_request to bytes that are not HTTP', async () => {
    const r = await raw(t.baseUrl, 'HELLO THERE\r\n\r\n');
    expect(r.status).toBe(400);
    expectOpenAiError(r.body, 400, 'invalid_request');
  });

  const key = 'sk-test-admin-0123456789abcdefghijklmnop';
  const cases: [string, string, number, string][] = [
    [
      'body too large',
      `POST /v1/generate HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nContent-Type: application/json\r\nContent-Length: 4000\r\nConnection: close\r\n\r\n{"prompt":"${'a'.repeat(3987)}"}`,
      413,
      'request_too_large',
    ],
    [
      'unsupported media type',
      `POST /v1/generate HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nContent-Type: application/xml\r\nContent-Length: 7\r\nConnection: close\r\n\r\n<a></a>`,
      400,
      'invalid_request',
    ],
    [
      'malformed JSON',
      `POST /v1/generate HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nContent-Type: application/json\r\nContent-Length: 9\r\nConnection: close\r\n\r\n{"prompt"`,
      400,
      'invalid_request',
    ],
    [
      'empty JSON body',
      `POST /v1/generate HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nContent-Type: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      400,
      'invalid_request',
    ],
    ['unknown route', `GET /no/such/route HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 404, 'not_found'],
    [
      'unsupported method on a route',
      `PUT /v1/generate HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      404,
      'not_found',
    ],
    [
      'a malformed URL',
      `GET /v1/models/%E0%A4%A HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nConnection: close\r\n\r\n`,
      400,
      'invalid_request',
    ],
  ];

  it.each(cases)('answers a %s in the OpenAI shape', async (_name, request, status, code) => {
    const r = await raw(t.baseUrl, request);
    expect(r.status).toBe(status);
    expectOpenAiError(r.body, status, code);
  });

  it('keeps serving after all of them', async () => {
    expect((await call(t.baseUrl, 'GET', '/healthz')).status).toBe(200);
  });
});

describe('a request that arrives while the server shuts down', () => {
  it('gets 503 service_unavailable in the OpenAI shape', async () => {
    const t = await startTestApp();
    const { hostname, port } = new URL(t.baseUrl);
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    try {
      await new Promise<void>((r) => socket.once('connect', () => r()));
      // The request has begun (its connection is not idle), so closing waits for it.
      socket.write('GET /v1/models HTTP/1.1\r\nHost: x\r\n');
      const server = t.running.app.getHttpServer();
      // Node's own list of connections with a request under way (no public API for it).
      const symbol = Object.getOwnPropertySymbols(server).find((s) => s.description === 'http.server.connections')!;
      const list = (server as unknown as Record<symbol, { active(): unknown[] }>)[symbol];
      while (list.active().length === 0) await new Promise((r) => setImmediate(r));
      const stopping = t.close();
      while (server.listening) await new Promise((r) => setImmediate(r));
      socket.end('\r\n');
      await closed;
      await stopping;
      const [head, body] = Buffer.concat(chunks).toString().split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 503 /);
      expectOpenAiError(body, 503, 'service_unavailable');
    } finally {
      socket.destroy();
    }
  });
});
