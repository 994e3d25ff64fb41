import { createApp, type RunningApp } from '../../src/app.factory';
import { loadConfig } from '../../src/config/app-config';
import { createTestDatabase } from './test-database';

export const TEST_ADMIN_KEY = 'sk-test-admin-0123456789abcdefghijklmnop';

export interface TestApp {
  running: RunningApp;
  baseUrl: string;
  dbUrl: string;
  adminKey: string;
  /** Stops the app; drops the database unless `keepDatabase`. */
  close(opts?: { keepDatabase?: boolean }): Promise<void>;
}

/** Boots the real application on a random port against its own database. */
export async function startTestApp(env: Record<string, string> = {}, existingDbUrl?: string): Promise<TestApp> {
  const db = existingDbUrl ? { url: existingDbUrl, drop: async () => undefined } : await createTestDatabase();
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    BOOTSTRAP_API_KEY: TEST_ADMIN_KEY,
    DATABASE_URL: db.url,
    MODELS_CONFIG: './test/fixtures/none.yaml',
    ...env,
  });
  const running = await createApp(config, { announceKey: () => undefined });
  await running.app.listen({ port: 0, host: '127.0.0.1' });
  const address = running.app.getHttpServer().address() as { port: number };
  return {
    running,
    baseUrl: `http://127.0.0.1:${address.port}`,
    dbUrl: db.url,
    adminKey: TEST_ADMIN_KEY,
    async close(opts = {}) {
      await running.shutdown();
      if (!opts.keepDatabase) await db.drop();
    },
  };
}

/** Small JSON client for the tests: returns status, headers and the parsed body. */
export async function call(
  baseUrl: string,
  method: string,
  path: string,
  opts: { key?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key) headers['x-api-key'] = opts.key;
  let body: string | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const res = await fetch(baseUrl + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body: parsed };
}
