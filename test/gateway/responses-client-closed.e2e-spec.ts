import { request } from 'node:http';
import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { FakeResponsesUpstream } from '../helpers/fake-responses-upstream';
import { writeModelsYaml } from '../helpers/model-fixtures';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait-for';
import { createKey, logRow, metricValue, readBooks } from '../limits/books';

/** A /v1/responses stream on its own socket, hung up after its first text delta. */
async function hangUpAfterFirstDelta(app: TestApp, key: string, requestId: string, model: string): Promise<void> {
  const payload = JSON.stringify({ model, input: 'count to five', stream: true, max_output_tokens: 50 });
  await new Promise<void>((resolve) => {
    const req = request(`${app.baseUrl}/v1/responses`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'x-api-key': key, 'x-request-id': requestId },
    });
    req.on('response', (res) =>
      res.on('data', (c: Buffer) => {
        if (!c.toString().includes('response.output_text.delta')) return;
        req.destroy();
        resolve();
      }),
    );
    req.on('error', () => undefined); // we hang up on purpose
    req.end(payload);
  });
}

describe('/v1/responses: a client that hangs up mid-stream', () => {
  let t: TestApp;
  let chat: FakeOpenAIUpstream;
  let responses: FakeResponsesUpstream;
  beforeAll(async () => {
    chat = await FakeOpenAIUpstream.start({ deltas: ['one', ' two', ' three', ' four', ' five'] });
    responses = await FakeResponsesUpstream.start({ deltas: ['one', ' two', ' three'] });
    const yaml = writeModelsYaml(
      `default_model: remote\nmodels:\n  - id: remote\n    provider: http\n    base_url: ${chat.baseUrl}\n    max_retries: 0\n` +
        `  - id: resp\n    provider: http\n    base_url: ${responses.baseUrl}\n    api: responses\n    max_retries: 0\n`,
    );
    t = await startTestApp({ MODELS_CONFIG: yaml });
  });
  afterAll(async () => {
    chat.resume();
    await t.close();
    await chat.stop();
    await responses.stop();
  });

  it.each([
    ['translated to a chat upstream', 'remote'],
    ['forwarded to a Responses upstream', 'resp'],
  ])('is recorded as 499 client_closed when %s, every ledger charging the same', async (_how, model) => {
    if (model === 'remote') chat.enqueue({ kind: 'pause', afterDeltas: 2 });
    else responses.enqueue({ kind: 'pause' });
    const { key, id } = await createKey(t, { quota_tokens: 100_000 });
    const requestId = `closed-responses-${model}`;
    await hangUpAfterFirstDelta(t, key, requestId, model);
    const row = await waitFor(`the inference_logs row of ${requestId}`, () => logRow([t], requestId));
    expect(row).toMatchObject({ status: 499, error_code: 'client_closed', key_id: id });
    const charged = row.prompt_tokens + row.completion_tokens;
    expect(charged).toBeGreaterThan(0);
    expect(await readBooks([t], id)).toEqual({ ledger: charged, reserved: 0, usageDaily: charged, logs: charged });
    const metrics = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(metricValue(metrics, 'llm_errors_total', { code: 'internal_error' })).toBe(0);
    if (model === 'remote') chat.resume();
  });
});
