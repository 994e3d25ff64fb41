import { Logger } from '@nestjs/common';
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { call, startTestApp, type TestApp } from '../helpers/test-app';
import { createTestDatabase } from '../helpers/test-database';

/** A relay to PostgreSQL that stops listening (connections refused) and listens again on the same port. */
function relay(target: URL) {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port || 5432) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  let port = 0;
  return {
    get port() {
      return port;
    },
    async listen() {
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
      port = (server.address() as { port: number }).port;
    },
    async stop() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

describe('/readyz with the database down', () => {
  let t: TestApp;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const proxy = relay(new URL(process.env.DATABASE_URL!));
  beforeAll(async () => {
    db = await createTestDatabase();
    await proxy.listen();
    const url = new URL(db.url);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    t = await startTestApp({}, url.toString());
  });
  afterAll(async () => {
    await t.close();
    await proxy.stop().catch(() => undefined);
    await db.drop();
  });

  it('says database: down without any address, and logs the reason', async () => {
    expect((await call(t.baseUrl, 'GET', '/readyz')).status).toBe(200);
    const warn = jest.spyOn(Logger.prototype, 'warn');
    await proxy.stop();
    try {
      const r = await call(t.baseUrl, 'GET', '/readyz');
      expect(r.status).toBe(503);
      expect(r.body.details.database).toEqual({ status: 'down' });
      expect(r.body.error.database).toEqual({ status: 'down' });
      const text = JSON.stringify(r.body);
      expect(text).not.toContain('127.0.0.1');
      expect(text).not.toContain(String(proxy.port));
      expect(warn.mock.calls.map((c) => String(c[0])).some((m) => m.startsWith('readiness: database is down'))).toBe(
        true,
      );
    } finally {
      warn.mockRestore();
      await proxy.listen();
    }
    expect((await call(t.baseUrl, 'GET', '/readyz')).status).toBe(200);
  });
});
