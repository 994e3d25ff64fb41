import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Logger } from '@nestjs/common';
import { createApp, type RunningApp } from '../../src/app.factory';
import { loadConfig } from '../../src/config/app-config';
import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { writeModelsYaml } from '../helpers/model-fixtures';
import { call } from '../helpers/test-app';
import { createTestDatabase, queryDb } from '../helpers/test-database';

const run = promisify(execFile);

/** The production app as main.ts builds it (no announceKey: the key goes into the banner). */
async function boot(
  dbUrl: string,
  models: string,
  env: Record<string, string> = {},
): Promise<{ running: RunningApp; base: string }> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: dbUrl,
    MODELS_CONFIG: models,
    ...env,
  });
  const running = await createApp(config);
  await running.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = running.app.getHttpServer().address() as { port: number };
  return { running, base: `http://127.0.0.1:${port}` };
}

const KEY_RE = /sk-[A-Za-z0-9_-]{40,}/g;

describe('first screen', () => {
  let upstream: FakeOpenAIUpstream;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let models: string;
  let running: RunningApp | undefined;
  beforeAll(async () => {
    upstream = await FakeOpenAIUpstream.start({ deltas: ['Hi', ' there'] });
    db = await createTestDatabase();
    models = writeModelsYaml(
      `default_model: remote\nmodels:\n  - id: remote\n    provider: http\n    base_url: ${upstream.baseUrl}\n    max_retries: 0\n`,
    );
  });
  afterEach(async () => {
    await running?.shutdown();
    running = undefined;
  });
  afterAll(async () => {
    await upstream.stop();
    await db.drop();
  });

  it('does show the admin key and a working curl line on the first start only, and redirects / to the playground', async () => {
    const first = await boot(db.url, models);
    running = first.running;
    const banner = running.startBanner();
    const port = new URL(first.base).port;
    expect(banner).toContain(`llm-server listening on http://127.0.0.1:${port}`);
    expect(banner).toMatch(new RegExp(`API +http://127\\.0\\.0\\.1:${port}/v1\\n`));
    expect(banner).toMatch(new RegExp(`API docs +http://127\\.0\\.0\\.1:${port}/docs\\n`));
    const key = /Admin key +(sk-[A-Za-z0-9_-]{40,}) +\(shown this once/.exec(banner)?.[1];
    expect(key).toBeDefined();
    const [{ n }] = await queryDb<{ n: number }>(
      db.url,
      `SELECT count(*)::int AS n FROM api_keys WHERE role = 'admin'`,
    );
    expect(n).toBe(1);

    // The curl line, run as printed: a chat completion with the new key.
    const curl = /Try it +(curl .*)$/m.exec(banner)![1];
    expect(curl).toContain(`Bearer ${key}`);
    const { stdout } = await run('bash', ['-c', `${curl} -sS --fail-with-body`]);
    const answer = JSON.parse(stdout);
    expect(answer.choices[0].message.content).toBe('Hi there');
    expect(answer.model).toBe('remote');

    const root = await fetch(`${first.base}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/ui/');

    // Shown once: asking again (a second listener, a log re-print) does not repeat it.
    expect(running.startBanner()).not.toMatch(KEY_RE);
    await running.shutdown();

    const again = await boot(db.url, models);
    running = again.running;
    const later = running.startBanner();
    expect(later).not.toMatch(KEY_RE);
    expect(later).toContain('make key');
    expect(later).toContain(`llm-server listening on ${again.base}`);
  });

  it('does name BOOTSTRAP_API_KEY instead of printing it', async () => {
    const configured = 'sk-first-screen-configured-0123456789abcdef';
    ({ running } = await boot(db.url, models, { BOOTSTRAP_API_KEY: configured }));
    const banner = running.startBanner();
    expect(banner).toContain('BOOTSTRAP_API_KEY');
    expect(banner).not.toContain(configured);
  });

  it('does log one shutdown line with the rows each buffer flushed', async () => {
    const slow = {
      LOG_FLUSH_MS: '60000',
      LOG_FLUSH_ROWS: '1000',
      QUOTA_FLUSH_MS: '60000',
      LAST_USED_FLUSH_MS: '3600000',
    };
    const app = await boot(db.url, models, { ...slow, BOOTSTRAP_API_KEY: 'sk-first-screen-shutdown-0123456789abcdef' });
    running = app.running;
    const key = (
      await call(app.base, 'POST', '/admin/keys', {
        key: 'sk-first-screen-shutdown-0123456789abcdef',
        body: { label: 'flush' },
      })
    ).body.key;
    const n = 3;
    for (let i = 0; i < n; i++) {
      const r = await call(app.base, 'POST', '/v1/chat/completions', {
        key,
        body: { messages: [{ role: 'user', content: `hello ${i}` }] },
      });
      expect(r.status).toBe(200);
    }
    const before = await queryDb<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM inference_logs`);
    const logged: string[] = [];
    const spy = jest.spyOn(Logger.prototype, 'log').mockImplementation(function (this: Logger, message: unknown) {
      if ((this as unknown as { context?: string }).context === 'Shutdown') logged.push(String(message));
    });
    try {
      await running.shutdown();
    } finally {
      spy.mockRestore();
    }
    running = undefined;
    expect(logged).toHaveLength(1);
    const line = logged[0];
    expect(line).toMatch(/^shutdown: flushed /);
    const after = await queryDb<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM inference_logs`);
    expect(after[0].n - before[0].n).toBe(n);
    expect(line).toContain(`${n} inference_logs rows`);
    // One key charged, one model, one day: one rollup row and one ledger row; a last_used_at per key used.
    expect(line).toContain('1 usage rollups');
    expect(line).toContain('1 quota ledgers');
    expect(line).toContain('2 last_used_at');
  });
});
