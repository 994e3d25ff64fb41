import { AppConfig } from '../../src/config/app-config';
import { ModelsService } from '../../src/models/models.service';
import { withMargin } from '../../src/quota/quota.service';
import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { tinyModelDir, writeModelsYaml } from '../helpers/model-fixtures';
import { call, startTestApp, type TestApp } from '../helpers/test-app';
import { cleanRedis, REDIS_URL } from './limits-fixtures';
import { createKey, readBooks, removeModelsYaml } from './books';

const PROMPT = 'count the letters of this sentence, please';
const MAX_TOKENS = 6;

/** Reads a streamed answer to its end and returns the usage chunk the client was told. */
async function streamedUsage(res: Response): Promise<number> {
  const text = await res.text();
  const usage = text
    .split('\n\n')
    .filter((b) => b.startsWith('data: {'))
    .map((b) => JSON.parse(b.slice(6)) as { usage?: { total_tokens: number } })
    .find((c) => c.usage)?.usage;
  if (!usage) throw new Error(`no usage chunk in ${text}`);
  return usage.total_tokens;
}

/** One chat completion; returns the status and the total_tokens the client was told (0 when refused). */
async function chat(
  app: TestApp,
  key: string,
  model: string,
  stream: boolean,
): Promise<{ status: number; told: number }> {
  const res = await fetch(`${app.baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify({
      model,
      max_tokens: MAX_TOKENS,
      temperature: 0.9,
      messages: [{ role: 'user', content: PROMPT }],
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    }),
  });
  if (res.status !== 200) {
    await res.text();
    return { status: res.status, told: 0 };
  }
  const told = stream
    ? await streamedUsage(res)
    : ((await res.json()) as { usage: { total_tokens: number } }).usage.total_tokens;
  return { status: 200, told };
}

function yamlFor(upstreams: Record<string, FakeOpenAIUpstream>, local?: string, fallbackTo?: string): string {
  let y = `default_model: ${local ? 'tiny' : Object.keys(upstreams)[0]}\nmodels:\n`;
  if (local) y += `  - id: tiny\n    provider: onnx\n    path: ${local}\n`;
  if (local && fallbackTo)
    y += `  - id: tiny-fb\n    provider: onnx\n    path: ${local}\n    fallbacks: [${fallbackTo}]\n`;
  for (const [id, u] of Object.entries(upstreams))
    y += `  - id: ${id}\n    provider: http\n    base_url: ${u.baseUrl}\n    max_retries: 0\n    timeout_ms: 30000\n`;
  return writeModelsYaml(y);
}

describe('every token is charged', () => {
  describe('on one replica', () => {
    let t: TestApp;
    let greedy: FakeOpenAIUpstream;
    let honest: FakeOpenAIUpstream;
    let yaml: string;
    beforeAll(async () => {
      // Reports a prompt a thousand times larger than anything we could estimate.
      greedy = await FakeOpenAIUpstream.start({ promptTokens: 27_000, honourMaxTokens: true });
      honest = await FakeOpenAIUpstream.start({ honourMaxTokens: true });
      yaml = yamlFor({ greedy, honest }, await tinyModelDir(), 'honest');
      t = await startTestApp({ MODELS_CONFIG: yaml, QUOTA_FLUSH_MS: '60000' });
    });
    afterAll(async () => {
      await t?.close();
      await Promise.all([greedy.stop(), honest.stop()]);
      removeModelsYaml(yaml);
    });

    it('charges an upstream that reports more than was reserved: ledger = usage_daily = inference_logs = what the client was told', async () => {
      const { key, id } = await createKey(t, { quota_tokens: 10_000_000, tpm: 10_000_000 });
      const answers = [
        await chat(t, key, 'greedy', false),
        await chat(t, key, 'greedy', true),
        await chat(t, key, 'greedy', false),
      ];
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      const told = answers.reduce((n, a) => n + a.told, 0);
      expect(told).toBeGreaterThan(3 * 27_000);
      expect(await readBooks([t], id)).toEqual({ ledger: told, reserved: 0, usageDaily: told, logs: told });
      const usage = await call(t.baseUrl, 'GET', '/v1/usage', { key });
      expect([usage.body.used_tokens, usage.body.reserved_tokens]).toEqual([told, 0]);
    });

    it('charges an honest upstream whose prompt count differs from our estimate, token for token', async () => {
      const estimate = await t.running.app
        .get(ModelsService)
        .countTokens('honest', [{ role: 'user', content: PROMPT }]);
      const { key, id } = await createKey(t, { quota_tokens: 1_000_000 });
      let told = 0;
      for (const promptTokens of [estimate + 1, estimate - 2, Math.ceil(estimate * 1.07), estimate * 2]) {
        honest.options.promptTokens = promptTokens;
        for (const stream of [false, true]) {
          const a = await chat(t, key, 'honest', stream);
          expect(a.status).toBe(200);
          told += a.told;
        }
      }
      expect(await readBooks([t], id)).toEqual({ ledger: told, reserved: 0, usageDaily: told, logs: told });
    });

    it('holds exactly what a local model will charge, an empty prompt included: its quota is never exceeded', async () => {
      const { key, id } = await createKey(t, { quota_tokens: 12 });
      let told = 0;
      for (let i = 0; i < 20; i++) {
        const r = await call(t.baseUrl, 'POST', '/v1/generate', {
          key,
          body: { model: 'tiny', prompt: '', max_tokens: 50, temperature: 0.9 },
          headers: { 'cache-control': 'no-store' },
        });
        if (r.status === 402) break;
        expect(r.status).toBe(200);
        told += r.body.usage.total_tokens;
      }
      expect(told).toBeGreaterThan(0);
      expect(told).toBeLessThanOrEqual(12);
      expect(await readBooks([t], id)).toEqual({ ledger: told, reserved: 0, usageDaily: told, logs: told });
    });

    it('holds the margin for a local model that may fall back to another (its count is then an estimate)', async () => {
      const { key } = await createKey(t, { quota_tokens: 1 });
      const needed = async (model: string) => {
        const r = await call(t.baseUrl, 'POST', '/v1/generate', {
          key,
          body: { model, prompt: 'a prompt of some forty characters or so', max_tokens: 5 },
        });
        expect(r.status).toBe(402);
        return Number(/needs at least (\d+)/.exec(r.body.error.message)![1]);
      };
      const exact = await needed('tiny'); // prompt + 1 completion token
      const margin = t.running.app.get(AppConfig).quota.remoteMargin;
      expect(await needed('tiny-fb')).toBe(withMargin(exact - 1, margin) + 1);
      expect(await needed('honest')).toBeGreaterThan(1);
    });

    it('charges nothing for a failure before any output, and its row says so', async () => {
      const { key, id } = await createKey(t, { quota_tokens: 1_000_000 });
      honest.enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 500 });
      const failed = [await chat(t, key, 'honest', false), await chat(t, key, 'honest', true)];
      expect(failed.map((a) => a.status)).toEqual([502, 502]);
      const ok = await chat(t, key, 'honest', false);
      expect(await readBooks([t], id)).toEqual({ ledger: ok.told, reserved: 0, usageDaily: ok.told, logs: ok.told });
    });
  });

  describe('50 concurrent requests over two replicas sharing Redis and PostgreSQL', () => {
    const QUOTA = 1_000;
    let apps: TestApp[] = [];
    let upstream: FakeOpenAIUpstream;
    let yaml: string;
    const keyIds: string[] = [];
    beforeAll(async () => {
      if (!REDIS_URL) return;
      upstream = await FakeOpenAIUpstream.start({
        honourMaxTokens: true,
        delayMs: 30,
        deltas: ['a', 'b', 'c', 'd', 'e', 'f'],
      });
      yaml = yamlFor({ remote: upstream }, await tinyModelDir());
      const env = { MODELS_CONFIG: yaml, REDIS_URL, QUOTA_FLUSH_MS: '60000', QUOTA_REMOTE_MARGIN: '0.25' };
      const first = await startTestApp(env);
      apps = [first, await startTestApp(env, first.dbUrl)];
    });
    afterAll(async () => {
      for (const id of keyIds) await cleanRedis(`llm:quota:{${id}}`);
      for (const a of apps.slice(1)) await a.close({ keepDatabase: true });
      await apps[0]?.close();
      await upstream?.stop();
      removeModelsYaml(yaml);
    });

    /** 50 requests at once, alternating replicas; returns what was told and the books. */
    async function race(model: string) {
      const { key, id } = await createKey(apps[0], { quota_tokens: QUOTA, tpm: 10_000_000 });
      keyIds.push(id);
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) => chat(apps[i % 2], key, model, i % 3 === 0)),
      );
      const served = answers.filter((a) => a.status === 200);
      expect(served.length + answers.filter((a) => a.status === 402).length).toBe(50);
      expect(served.length).toBeGreaterThan(0);
      expect(served.length).toBeLessThan(50); // the quota really ran out under contention
      const told = served.reduce((n, a) => n + a.told, 0);
      const books = await readBooks(apps, id);
      expect(books).toEqual({ ledger: told, reserved: 0, usageDaily: told, logs: told });
      return { served: served.length, told, key };
    }

    /** The tokens held for the prompt of one request (estimate plus QUOTA_REMOTE_MARGIN). */
    async function reservedPrompt(): Promise<number> {
      const estimate = await apps[0].running.app
        .get(ModelsService)
        .countTokens('remote', [{ role: 'user', content: PROMPT }]);
      return withMargin(estimate, apps[0].running.app.get(AppConfig).quota.remoteMargin);
    }

    (REDIS_URL ? it : it.skip)('never exceeds the quota for a local model (exact counts)', async () => {
      const { told } = await race('tiny');
      expect(told).toBeLessThanOrEqual(QUOTA);
    });

    (REDIS_URL ? it : it.skip)(
      'never exceeds the quota for a remote model whose prompt count stays within the margin',
      async () => {
        upstream.options.promptTokens = await reservedPrompt(); // the worst the margin absorbs
        const { told } = await race('remote');
        expect(told).toBeLessThanOrEqual(QUOTA);
      },
    );

    (REDIS_URL ? it : it.skip)(
      'ends over the quota by at most the estimation error of the requests in flight (docs/limits.md)',
      async () => {
        const held = await reservedPrompt();
        upstream.options.promptTokens = held + 9; // 9 tokens per request beyond the margin
        const { served, told, key } = await race('remote');
        const overshoot = told - QUOTA;
        // The documented bound: the sum, over the requests in flight at the last grant, of what each
        // used beyond its reservation. All of them were served, each 9 over: at most served × 9.
        expect(overshoot).toBeLessThanOrEqual(served * 9);
        expect(overshoot).toBeGreaterThan(0); // measured: the race really ended over the quota
        // Once over, the key is refused: a key at or over its quota gets 402.
        const after = await chat(apps[1], key, 'remote', false);
        expect(after.status).toBe(402);
      },
    );
  });
});
