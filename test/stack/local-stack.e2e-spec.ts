import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type LocalStack, startLocalStack } from '../../scripts/stack/local-stack';
import { freePort } from '../../src/database/embedded-postgres.launcher';
import { projectRoot } from '../../src/common/project-root';
import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { writeModelsYaml } from '../helpers/model-fixtures';
import { call, TEST_ADMIN_KEY } from '../helpers/test-app';
import { createTestDatabase } from '../helpers/test-database';
import { describeWithTool, nginxBinary } from './tools';

const REDIS_URL = process.env.REDIS_URL;

/** `make up-local` as a test: two built api replicas on a real database behind nginx. */
describeWithTool(
  'nginx',
  nginxBinary(),
  'apt-get install -y nginx',
)('local stack (make up-local)', () => {
  let stack: LocalStack;
  let upstream: FakeOpenAIUpstream;
  let db: { url: string; drop(): Promise<void> };
  const lines: string[] = [];

  beforeAll(async () => {
    expect(existsSync(join(projectRoot(), 'dist', 'src', 'main.js'))).toBe(true);
    upstream = await FakeOpenAIUpstream.start({ deltas: ['local', ' stack'] });
    db = await createTestDatabase();
    // A remote model only: the replicas start in about a second each.
    const models = writeModelsYaml(
      `default_model: remote\nmodels:\n  - id: remote\n    provider: http\n    base_url: ${upstream.baseUrl}\n    max_retries: 0\n`,
    );
    stack = await startLocalStack({
      port: await freePort(),
      replicas: 2,
      databaseUrl: db.url,
      redisUrl: REDIS_URL ?? '',
      env: { BOOTSTRAP_API_KEY: TEST_ADMIN_KEY, LOG_LEVEL: 'warn', MODELS_CONFIG: models, KEY_CACHE_TTL_MS: '0' },
      log: (l) => lines.push(l),
      startTimeoutMs: 40_000,
    }).catch((err) => {
      throw new Error(`${(err as Error).message}\nthe replicas said:\n${lines.join('\n')}`);
    });
  }, 100_000);
  afterAll(async () => {
    await stack?.stop();
    await upstream?.stop();
    await db?.drop();
  });

  it('serves the API, the playground and the docs through nginx from both replicas', async () => {
    expect(stack.apiPorts).toHaveLength(2);
    expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${stack.url}/ui/`)).status).toBe(200);
    expect((await fetch(`${stack.url}/docs`)).status).toBe(200);
    const created = await call(stack.url, 'POST', '/admin/keys', {
      key: TEST_ADMIN_KEY,
      body: { label: 'local-stack' },
    });
    expect(created.status).toBe(201);
    // Round robin over the replicas: a key made on one works on the other (shared PostgreSQL).
    for (let i = 0; i < 4; i++) {
      const r = await call(stack.url, 'POST', '/v1/chat/completions', {
        key: created.body.key,
        body: { messages: [{ role: 'user', content: 'hi' }] },
      });
      expect([i, r.status, r.body.choices?.[0]?.message?.content]).toEqual([i, 200, 'local stack']);
    }
    for (const port of stack.apiPorts) expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  (REDIS_URL ? it : it.skip)(
    'shares rate limits across the replicas through Redis (rpm 2: the third request is refused)',
    async () => {
      const created = await call(stack.url, 'POST', '/admin/keys', {
        key: TEST_ADMIN_KEY,
        body: { label: 'shared-limit', rpm: 2 },
      });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        statuses.push(
          (await call(stack.url, 'POST', '/v1/generate', { key: created.body.key, body: { prompt: 'x' } })).status,
        );
      }
      expect(statuses).toEqual([200, 200, 429]);
    },
  );

  it('stops every process it started', async () => {
    await stack.stop();
    const nginx = stack.nginx.process;
    expect(nginx.exitCode !== null || nginx.signalCode !== null).toBe(true);
    expect(existsSync(stack.nginx.prefix)).toBe(false);
    await expect(fetch(`${stack.url}/healthz`)).rejects.toThrow();
    for (const port of stack.apiPorts) await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });
});
