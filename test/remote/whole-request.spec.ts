import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { bodyText, requestWhole, WholeBodyError } from '../../src/models/http/whole-request';

type Route = (req: IncomingMessage, res: ServerResponse) => void;

describe('requestWhole', () => {
  let server: Server;
  let pool: Pool;
  let route: Route;
  let closedEarly: Promise<boolean>;

  beforeEach(async () => {
    server = createServer((req, res) => {
      closedEarly = new Promise((resolve) => res.on('close', () => resolve(!res.writableFinished)));
      req.resume();
      req.on('end', () => route(req, res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    pool = new Pool(`http://127.0.0.1:${port}`, { bodyTimeout: 300, headersTimeout: 300 });
  });
  afterEach(async () => {
    await pool.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const call = (signal?: AbortSignal, errorBodyCap = 1024) =>
    requestWhole(pool, {
      path: '/v1/x',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      signal,
      errorBodyCap,
    });

  it('returns the status, the parsed headers and the whole body of a chunked answer', async () => {
    route = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-one': '1' });
      res.write('{"a":');
      setTimeout(() => res.end('1}'), 20);
    };
    const r = await call();
    expect(r.statusCode).toBe(200);
    expect(r.headers['x-one']).toBe('1');
    expect(JSON.parse(bodyText(r.body))).toEqual({ a: 1 });
  });

  it('keeps the first errorBodyCap bytes of an error body and drops the connection', async () => {
    route = (_req, res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.write('x'.repeat(2048));
      // Never ends: only the cap can finish this call.
    };
    const r = await call(undefined, 1024);
    expect(r.statusCode).toBe(500);
    expect(r.body.length).toBeGreaterThanOrEqual(1024);
    expect(await closedEarly).toBe(true);
  });

  it('rejects with WholeBodyError when a 2xx body stops arriving (a read error, not a transport one)', async () => {
    route = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"a":');
    };
    const err = await call().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WholeBodyError);
    expect((err as WholeBodyError).cause).toMatchObject({ code: 'UND_ERR_BODY_TIMEOUT' });
  });

  it('rejects with a transport error when no headers arrive', async () => {
    route = () => undefined;
    const err = await call().catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(WholeBodyError);
    expect(err).toMatchObject({ code: 'UND_ERR_HEADERS_TIMEOUT' });
  });

  it("rejects with the signal's reason when aborted, before sending or while waiting", async () => {
    route = () => undefined;
    const before = new AbortController();
    before.abort(new Error('gone before'));
    await expect(call(before.signal)).rejects.toThrow('gone before');
    const during = new AbortController();
    const p = call(during.signal);
    setTimeout(() => during.abort(new Error('gone during')), 20);
    await expect(p).rejects.toThrow('gone during');
    expect(await closedEarly).toBe(true);
  });

  it('skips a UTF-8 byte order mark, as body.json() does', () => {
    expect(bodyText(Buffer.from('\uFEFF{"a":1}', 'utf8'))).toBe('{"a":1}');
  });
});
