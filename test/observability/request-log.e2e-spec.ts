import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { freePort } from '../../src/database/embedded-postgres.launcher';
import { TEST_ADMIN_KEY } from '../helpers/test-app';
import { createTestDatabase, queryDb } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';

const ROOT = join(__dirname, '../..');

/**
 * Runs the real entry point (src/main.ts, transpiled on the fly) as its own process, so pino
 * writes to a real stdout exactly as in production, and reads the JSON lines back.
 */
describe('request log lines on stdout', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let proc: ChildProcess;
  let out = '';
  let err = '';
  let exitCode: number | null;
  let lines: Record<string, any>[];
  const sent: { id: string; status: number; echoed: string | null }[] = [];
  let createdKey: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: db.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      BOOTSTRAP_API_KEY: TEST_ADMIN_KEY,
      MODELS_CONFIG: join(ROOT, 'test/fixtures/none.yaml'),
    };
    delete env.REDIS_URL;
    proc = spawn(
      process.execPath,
      ['-r', join(__dirname, '../../scripts/swc-register.js'), join(ROOT, 'src/main.ts')],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
    await waitFor('the server to listen', () => err, {
      until: (e) => e.includes('llm-server listening on') || proc.exitCode !== null,
      timeoutMs: 45_000,
    });
    const base = `http://127.0.0.1:${port}`;
    const send = async (id: string, path: string, init: RequestInit = {}) => {
      const res = await fetch(base + path, { ...init, headers: { 'x-request-id': id, ...(init.headers ?? {}) } });
      const body = await res.text();
      sent.push({ id, status: res.status, echoed: res.headers.get('x-request-id') });
      return body;
    };
    await send('rl-health', '/healthz');
    await send('rl-list', '/admin/keys?limit=1', { headers: { 'x-api-key': TEST_ADMIN_KEY } });
    await send('rl-missing', `/admin/keys/${randomUUID()}`, { headers: { 'x-api-key': TEST_ADMIN_KEY } });
    await send('rl-unmatched', '/no/such/thing?token=secret-query');
    await send('rl-nokey', '/admin/keys');
    const created = await send('rl-create', '/admin/keys', {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ label: 'log-test' }),
    });
    createdKey = JSON.parse(created).key;
    proc.kill('SIGTERM');
    exitCode = await exited;
    lines = out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  });
  afterAll(async () => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    await db.drop();
  });

  const lineFor = (id: string) => {
    const found = lines.filter((l) => l.msg === 'request completed' && l.request_id === id);
    expect(found).toHaveLength(1);
    return found[0];
  };

  it('does write only JSON lines to stdout and exits 0 on SIGTERM', () => {
    expect(exitCode).toBe(0);
    expect(lines.length).toBeGreaterThan(sent.length);
  });

  it('does write one line per request with request id, route template, status, latency and key id', async () => {
    const [{ id: adminId }] = await queryDb<{ id: string }>(
      db.url,
      `SELECT id FROM api_keys WHERE label = 'bootstrap'`,
    );
    for (const s of sent) expect(s.echoed).toBe(s.id);
    expect(lineFor('rl-health')).toMatchObject({ level: 30, method: 'GET', route: '/healthz', status: 200 });
    expect(lineFor('rl-health').key_id).toBeUndefined();
    expect(lineFor('rl-list')).toMatchObject({ route: '/admin/keys', status: 200, key_id: adminId });
    expect(lineFor('rl-missing')).toMatchObject({
      route: '/admin/keys/:id',
      status: 404,
      key_id: adminId,
      error_code: 'not_found',
    });
    expect(lineFor('rl-unmatched')).toMatchObject({
      route: 'unmatched',
      path: '/no/such/thing',
      status: 404,
      error_code: 'not_found',
    });
    expect(lineFor('rl-nokey')).toMatchObject({ route: '/admin/keys', status: 401, error_code: 'missing_api_key' });
    expect(lineFor('rl-create')).toMatchObject({ method: 'POST', route: '/admin/keys', status: 201, key_id: adminId });
    for (const s of sent) {
      const l = lineFor(s.id);
      expect(l.status).toBe(s.status);
      expect(typeof l.latency_ms).toBe('number');
      expect(l.latency_ms).toBeGreaterThanOrEqual(0);
    }
  });

  it('does never log a key, an authorization header or a query string', () => {
    for (const text of [out, err]) {
      expect(text).not.toContain(TEST_ADMIN_KEY);
      expect(text).not.toContain(createdKey);
      expect(text).not.toContain('secret-query');
    }
    expect(out.toLowerCase()).not.toContain('authorization');
    // stderr has the start banner, whose curl line names the header (with a placeholder key).
    expect(err.toLowerCase().replace(/^ +try it +curl .*$/m, '')).not.toContain('authorization');
  });
});
