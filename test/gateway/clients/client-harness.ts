import { FakeOpenAIUpstream } from '../../helpers/fake-openai-upstream';
import { writeModelsYaml } from '../../helpers/model-fixtures';
import { call, startTestApp, type TestApp } from '../../helpers/test-app';
import { createKey, readBooks } from '../../limits/books';
import type { WholeAnswer } from '../../helpers/openai-answers';

/** The model id clients ask for, and the name the upstream must see instead. */
export const MODEL = 'remote';
export const UPSTREAM_MODEL = 'up-remote';

/** One request a client library sent, as it left the library (before our gateway saw it). */
export interface SentRequest {
  path: string;
  body: Record<string, unknown>;
}

/** What a client reported as the usage of its calls. */
export interface Usage {
  prompt: number;
  completion: number;
}

/**
 * The app serving one remote model whose upstream is the fake, a key of its own (so /v1/usage
 * shows only this file's calls), and a fetch that records what a client library sends.
 */
export class ClientsHarness {
  readonly sent: SentRequest[] = [];
  /** The tokens the clients were told, over every `expectUsageCharged` of the file. */
  readonly told: Usage = { prompt: 0, completion: 0 };
  private readonly answers: WholeAnswer[] = [];
  private constructor(
    readonly app: TestApp,
    readonly upstream: FakeOpenAIUpstream,
    readonly key: string,
    readonly keyId: string,
  ) {}

  static async start(): Promise<ClientsHarness> {
    const upstream = await FakeOpenAIUpstream.start();
    const yaml =
      `default_model: ${MODEL}\nmodels:\n  - id: ${MODEL}\n    provider: http\n    base_url: ${upstream.baseUrl}\n` +
      `    upstream_model: ${UPSTREAM_MODEL}\n    max_retries: 0\n    timeout_ms: 30000\n`;
    // The cache off: every client call must reach the upstream for its body to be compared.
    // Rollups flushed only on demand: /v1/usage does not see a batch while it is being written
    // (neither pending nor in the database yet), which would make a before/after delta wrong.
    const app = await startTestApp({
      MODELS_CONFIG: writeModelsYaml(yaml),
      CACHE_MODE: 'off',
      QUOTA_FLUSH_MS: '60000',
    });
    const { key, id } = await createKey(app, { label: 'clients', rpm: 100_000 });
    const harness = new ClientsHarness(app, upstream, key, id);
    upstream.options.answer = () => {
      const next = harness.answers.shift();
      if (!next) throw new Error('the test scripted no answer for this request');
      return next;
    };
    return harness;
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.upstream.stop();
  }

  /** Our /v1 as a client's base URL. */
  get baseURL(): string {
    return `${this.app.baseUrl}/v1`;
  }

  /** A fetch for the client libraries: records each JSON body they send, then sends it unchanged. */
  readonly fetch: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (typeof init?.body === 'string')
      this.sent.push({ path: new URL(url).pathname, body: JSON.parse(init.body) as Record<string, unknown> });
    return fetch(input, init);
  };

  /**
   * The upstream's next answers, in order (whole chat.completion objects; the fake splits them
   * into chunks when the request streams).
   */
  script(...answers: WholeAnswer[]): void {
    this.answers.push(...answers);
  }

  /**
   * Marks where a test starts: `forwarded()` then compares only what came after. Drops the
   * answers an earlier (failed) test left unused, so one failure does not cascade.
   */
  mark(): { sent: number; received: number } {
    this.answers.length = 0;
    return { sent: this.sent.length, received: this.upstream.completionRequests.length };
  }

  /**
   * The bodies the upstream received since `mark`, after checking that each equals the body the
   * client sent with only what the gateway may change (docs/api.md, wire fidelity): `model`, a
   * `max_tokens` added when the client set no cap, `include_usage` added to a stream's options.
   */
  forwarded(mark: { sent: number; received: number }): Array<Record<string, unknown>> {
    const sent = this.sent.slice(mark.sent).filter((s) => s.path.endsWith('/chat/completions'));
    const received = this.upstream.completionRequests.slice(mark.received).map((r) => r.body!);
    expect(received).toHaveLength(sent.length);
    sent.forEach(({ body }, i) => expect(received[i]).toEqual(expectedUpstreamBody(body)));
    return received;
  }

  /**
   * After every buffer is flushed: the quota ledger, usage_daily and inference_logs each hold
   * the tokens the clients were told (refused calls charge nothing).
   */
  async expectBooksAgree(): Promise<void> {
    const total = this.told.prompt + this.told.completion;
    expect(total).toBeGreaterThan(0);
    expect(await readBooks([this.app], this.keyId)).toEqual({
      ledger: total,
      reserved: 0,
      usageDaily: total,
      logs: total,
    });
  }

  /** This key's usage of the model so far, as /v1/usage reports it. */
  async usage(): Promise<Usage & { requests: number }> {
    const res = await call(this.app.baseUrl, 'GET', '/v1/usage', { key: this.key });
    expect(res.status).toBe(200);
    const row = (res.body.by_model as Array<Record<string, number | string>>).find((m) => m.model === MODEL);
    return {
      prompt: Number(row?.prompt_tokens ?? 0),
      completion: Number(row?.completion_tokens ?? 0),
      requests: Number(row?.requests ?? 0),
    };
  }

  /** Runs `fn` and checks that /v1/usage grew by exactly the usage it returns (what the client reported). */
  async expectUsageCharged(fn: () => Promise<Usage>): Promise<Usage> {
    const before = await this.usage();
    const reported = await fn();
    const after = await this.usage();
    expect({ prompt: after.prompt - before.prompt, completion: after.completion - before.completion }).toEqual(
      reported,
    );
    this.told.prompt += reported.prompt;
    this.told.completion += reported.completion;
    return reported;
  }
}

/** The body an upstream should receive for what a client sent. */
export function expectedUpstreamBody(sent: Record<string, unknown>): Record<string, unknown> {
  const expected: Record<string, unknown> = { ...sent, model: UPSTREAM_MODEL };
  if (sent.max_tokens === undefined && sent.max_completion_tokens === undefined)
    expected.max_tokens = expect.any(Number);
  if (sent.stream === true)
    expected.stream_options = { ...(sent.stream_options as object | undefined), include_usage: true };
  return expected;
}

/** The last message of a request body (a tool loop's second turn ends with the tool result). */
export function lastMessage(body: Record<string, unknown>): Record<string, unknown> {
  const messages = body.messages as Array<Record<string, unknown>>;
  return messages[messages.length - 1];
}
