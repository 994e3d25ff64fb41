import OpenAI from 'openai';
import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { writeModelsYaml } from '../helpers/model-fixtures';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait-for';
import { RedisService } from '../../src/redis/redis.service';

const REDIS_URL = process.env.REDIS_URL;
/** Redis-only: runs where REDIS_URL is set (CI always sets it). */
const withRedis = REDIS_URL ? it : it.skip;

/** Output items kept for item_reference are shared by replicas through Redis. */
describe('/v1/responses item_reference across two replicas', () => {
  let a: TestApp;
  let b: TestApp | undefined;
  let upstream: FakeOpenAIUpstream;
  beforeAll(async () => {
    upstream = await FakeOpenAIUpstream.start({ deltas: ['Bonjour', '.'] });
    const yaml = writeModelsYaml(
      `default_model: remote\nmodels:\n  - id: remote\n    provider: http\n    base_url: ${upstream.baseUrl}\n`,
    );
    const env = { MODELS_CONFIG: yaml, ...(REDIS_URL ? { REDIS_URL } : {}) };
    a = await startTestApp(env);
    if (REDIS_URL) b = await startTestApp(env, a.dbUrl);
    for (const app of [a, b])
      if (app)
        await waitFor('Redis', () => app.running.app.get(RedisService).available || !REDIS_URL, { timeoutMs: 3000 });
  });
  afterAll(async () => {
    await b?.close({ keepDatabase: true });
    await a.close();
    await upstream.stop();
  });

  withRedis('an item answered by one replica is found by the other, for the same key', async () => {
    const onA = new OpenAI({ apiKey: a.adminKey, baseURL: `${a.baseUrl}/v1`, maxRetries: 0 });
    const onB = new OpenAI({ apiKey: b!.adminKey, baseURL: `${b!.baseUrl}/v1`, maxRetries: 0 });
    const first = await onA.responses.create({ model: 'remote', input: 'hi' });
    await onB.responses.create({
      model: 'remote',
      input: [
        { type: 'item_reference', id: first.output[0].id! },
        { role: 'user', content: 'and?' },
      ],
    });
    expect(upstream.requests.at(-1)!.body!.messages).toEqual([
      { role: 'assistant', content: 'Bonjour.' },
      { role: 'user', content: 'and?' },
    ]);
  });
});
