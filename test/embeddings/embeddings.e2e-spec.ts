import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createOpenAI } from '@ai-sdk/openai';
import { cosineSimilarity, embed, embedMany } from 'ai';
import OpenAI from 'openai';
import { buildEncoder } from '../../src/model-tools/encoder/build-encoder';
import { InferenceLogWriter } from '../../src/usage/inference-log.writer';
import { tinyModelDir, writeModelsYaml } from '../helpers/model-fixtures';
import { makeTempDir } from '../helpers/temp-dir';
import { call, startTestApp, type TestApp } from '../helpers/test-app';
import { queryDb } from '../helpers/test-database';
import { createKey } from '../limits/books';

/** A remote embeddings upstream: a real local HTTP server that records what it received. */
async function fakeEmbeddingsUpstream(): Promise<{
  url: string;
  received: Array<Record<string, unknown>>;
  /** HTTP statuses to answer the next POSTs with, before answering normally again. */
  failures: number[];
  close(): Promise<void>;
}> {
  const received: Array<Record<string, unknown>> = [];
  const failures: number[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      // The gateway's health probe (GET /models) gets an empty list.
      if (req.method !== 'POST') return void res.end(JSON.stringify({ object: 'list', data: [] }));
      const body = JSON.parse(raw) as { input: string | string[] };
      received.push({ path: req.url, ...body });
      const failure = failures.shift();
      if (failure !== undefined) {
        res.statusCode = failure;
        return void res.end(
          JSON.stringify({ error: { message: `scripted ${failure}`, type: 'server_error', code: null } }),
        );
      }
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      res.end(
        JSON.stringify({
          object: 'list',
          data: inputs.map((_, i) => ({ object: 'embedding', index: i, embedding: [i, 0.5, -0.25] })),
          model: 'up-embed',
          usage: { prompt_tokens: 7 * inputs.length, total_tokens: 7 * inputs.length },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    received,
    failures,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const norm = (v: number[]) => Math.hypot(...v);

describe('POST /v1/embeddings', () => {
  let app: TestApp;
  let key: string;
  let client: OpenAI;
  let upstream: Awaited<ReturnType<typeof fakeEmbeddingsUpstream>>;

  beforeAll(async () => {
    const root = makeTempDir('embeddings-e2e');
    const encoder = join(root, 'bert');
    await buildEncoder({ outDir: encoder, layers: 2, hidden: 32, heads: 4, maxPositions: 64, seed: 5 });
    const chat = await tinyModelDir();
    upstream = await fakeEmbeddingsUpstream();
    const yaml = [
      'default_model: tiny',
      'models:',
      '  - id: tiny',
      '    provider: onnx',
      `    path: ${chat}`,
      '  - id: embed',
      '    provider: onnx',
      '    task: embeddings',
      `    path: ${encoder}`,
      '    matryoshka_dimensions: [16, 8]',
      '    query_prefix: "query: "',
      '  - id: embed-plain',
      '    provider: onnx',
      '    task: embeddings',
      `    path: ${encoder}`,
      '  - id: remote-embed',
      '    provider: http',
      '    task: embeddings',
      `    base_url: ${upstream.url}`,
      '    upstream_model: up-embed',
      '  - id: remote-drop',
      '    provider: http',
      '    task: embeddings',
      `    base_url: ${upstream.url}`,
      '    params: drop',
      '    drop_params: [user]',
      '  - id: remote-strict',
      '    provider: http',
      '    task: embeddings',
      `    base_url: ${upstream.url}`,
      '    params: strict',
      '  - id: remote-fragile',
      '    provider: http',
      '    task: embeddings',
      `    base_url: ${upstream.url}`,
      '    max_retries: 0',
      '    circuit_breaker: { failure_threshold: 2, cooldown_ms: 60000 }',
      '',
    ].join('\n');
    app = await startTestApp({ MODELS_CONFIG: writeModelsYaml(yaml) });
    ({ key } = await createKey(app, { label: 'embeddings', rpm: 100_000 }));
    client = new OpenAI({ apiKey: key, baseURL: `${app.baseUrl}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await upstream?.close();
  });

  it('answers the OpenAI shape with unit vectors; the SDK default (base64) decodes to the float answer', async () => {
    const floats = await client.embeddings.create({
      model: 'embed',
      input: 'the quick brown fox',
      encoding_format: 'float',
    });
    expect(floats.object).toBe('list');
    expect(floats.model).toBe('embed');
    expect(floats.data).toHaveLength(1);
    expect(floats.data[0]).toMatchObject({ object: 'embedding', index: 0 });
    expect(floats.data[0].embedding).toHaveLength(32);
    expect(norm(floats.data[0].embedding)).toBeCloseTo(1, 5);
    expect(floats.usage.prompt_tokens).toBe(6); // [CLS] the quick brown fox [SEP]
    expect(floats.usage.total_tokens).toBe(6);
    const b64 = await client.embeddings.create({ model: 'embed', input: 'the quick brown fox' });
    b64.data[0].embedding.forEach((x, i) => expect(x).toBeCloseTo(floats.data[0].embedding[i], 6));
  });

  it('embeds a batch of 64 in order, each as it is alone', async () => {
    const inputs = Array.from({ length: 64 }, (_, i) => `document number ${i} about ${i % 2 ? 'cats' : 'the sea'}`);
    const batch = await client.embeddings.create({ model: 'embed', input: inputs, encoding_format: 'float' });
    expect(batch.data.map((d) => d.index)).toEqual(inputs.map((_, i) => i));
    const alone = await client.embeddings.create({ model: 'embed', input: inputs[37], encoding_format: 'float' });
    alone.data[0].embedding.forEach((x, i) => expect(x).toBeCloseTo(batch.data[37].embedding[i], 5));
    expect(batch.data[0].embedding).not.toEqual(batch.data[1].embedding);
  });

  it('accepts token arrays', async () => {
    const res = await call(app.baseUrl, 'POST', '/v1/embeddings', {
      key,
      body: {
        model: 'embed',
        input: [
          [2, 10, 3],
          [2, 11, 12, 3],
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(2);
    expect(res.body.usage.prompt_tokens).toBe(7);
  });

  it('truncates dimensions (Matryoshka) and re-normalises; refuses them where not declared', async () => {
    const full = await client.embeddings.create({ model: 'embed', input: 'hello world', encoding_format: 'float' });
    const cut = await client.embeddings.create({
      model: 'embed',
      input: 'hello world',
      dimensions: 16,
      encoding_format: 'float',
    });
    expect(cut.data[0].embedding).toHaveLength(16);
    expect(norm(cut.data[0].embedding)).toBeCloseTo(1, 5);
    const scale = norm(full.data[0].embedding.slice(0, 16));
    cut.data[0].embedding.forEach((x, i) => expect(x).toBeCloseTo(full.data[0].embedding[i] / scale, 5));
    const odd = await call(app.baseUrl, 'POST', '/v1/embeddings', {
      key,
      body: { model: 'embed', input: 'x', dimensions: 12 },
    });
    expect(odd.status).toBe(400);
    expect(odd.body.error).toMatchObject({ code: 'invalid_request', param: 'dimensions' });
    const plain = await call(app.baseUrl, 'POST', '/v1/embeddings', {
      key,
      body: { model: 'embed-plain', input: 'x', dimensions: 16 },
    });
    expect(plain.status).toBe(400);
    expect(plain.body.error).toMatchObject({ code: 'unsupported_parameter', param: 'dimensions' });
  });

  it('refuses an input over the context naming its index, or truncates it with truncate: true', async () => {
    const long = 'dog '.repeat(100);
    const refused = await call(app.baseUrl, 'POST', '/v1/embeddings', {
      key,
      body: { model: 'embed', input: ['ok', long] },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'invalid_request', param: 'input' });
    expect(refused.body.error.message).toContain('input[1]');
    const cut = await call(app.baseUrl, 'POST', '/v1/embeddings', {
      key,
      body: { model: 'embed', input: ['ok', long], truncate: true },
    });
    expect(cut.status).toBe(200);
    expect(cut.body.usage.prompt_tokens).toBe(4 + 64); // [CLS] o ##k [SEP], then 64
  });

  it('applies the query prefix for input_type: query', async () => {
    const doc = await call(app.baseUrl, 'POST', '/v1/embeddings', { key, body: { model: 'embed', input: 'cats' } });
    const query = await call(app.baseUrl, 'POST', '/v1/embeddings', {
      key,
      body: { model: 'embed', input: 'cats', input_type: 'query' },
    });
    expect(query.body.usage.prompt_tokens).toBe(doc.body.usage.prompt_tokens + 2); // "query", ":"
    expect(query.body.data[0].embedding).not.toEqual(doc.body.data[0].embedding);
  });

  it('refuses a chat model on /v1/embeddings and an embeddings model on chat, with 400 on model', async () => {
    const a = await call(app.baseUrl, 'POST', '/v1/embeddings', { key, body: { model: 'tiny', input: 'x' } });
    expect(a.status).toBe(400);
    expect(a.body.error).toMatchObject({ code: 'invalid_request', param: 'model' });
    const b = await call(app.baseUrl, 'POST', '/v1/chat/completions', {
      key,
      body: { model: 'embed', messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(b.status).toBe(400);
    expect(b.body.error).toMatchObject({ code: 'invalid_request', param: 'model' });
    const c = await call(app.baseUrl, 'POST', '/v1/embeddings', { key, body: { model: 'nope', input: 'x' } });
    expect(c.status).toBe(404);
    expect(c.body.error.code).toBe('model_not_found');
    const bad = await call(app.baseUrl, 'POST', '/v1/embeddings', { key, body: { model: 'embed', input: [] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_request', param: 'input' });
  });

  it('caches: the same request is a hit, other dimensions or encoding a miss', async () => {
    const body = { model: 'embed', input: ['cache me', 'and me'], encoding_format: 'float' };
    const first = await call(app.baseUrl, 'POST', '/v1/embeddings', { key, body });
    const second = await call(app.baseUrl, 'POST', '/v1/embeddings', { key, body });
    expect(first.headers.get('x-cache')).toBe('miss');
    expect(second.headers.get('x-cache')).toBe('hit');
    expect(second.body).toEqual(first.body);
    const other = await call(app.baseUrl, 'POST', '/v1/embeddings', { key, body: { ...body, dimensions: 8 } });
    expect(other.headers.get('x-cache')).toBe('miss');
    expect(other.body.data[0].embedding).toHaveLength(8);
    const b64 = await call(app.baseUrl, 'POST', '/v1/embeddings', {
      key,
      body: { ...body, encoding_format: 'base64' },
    });
    expect(b64.headers.get('x-cache')).toBe('miss');
    expect(typeof b64.body.data[0].embedding).toBe('string');
  });

  it('records inference_logs rows and charges the prompt tokens to the key', async () => {
    const { key: own } = await createKey(app, { label: 'embeddings-usage', rpm: 1000 });
    const res = await call(app.baseUrl, 'POST', '/v1/embeddings', {
      key: own,
      body: { model: 'embed', input: ['usage one', 'usage two three'] },
      headers: { 'cache-control': 'no-cache' },
    });
    expect(res.status).toBe(200);
    await app.running.app.get(InferenceLogWriter).flush();
    const rows = await queryDb<{ endpoint: string; prompt_tokens: number; completion_tokens: number; status: number }>(
      app.dbUrl,
      `SELECT endpoint, prompt_tokens, completion_tokens, status FROM inference_logs WHERE request_id = $1`,
      [res.headers.get('x-request-id')],
    );
    expect(rows).toEqual([
      { endpoint: '/v1/embeddings', prompt_tokens: res.body.usage.prompt_tokens, completion_tokens: 0, status: 200 },
    ]);
    const usage = await call(app.baseUrl, 'GET', '/v1/usage', { key: own });
    expect(usage.body.used_tokens).toBe(res.body.usage.prompt_tokens);
  });

  it('refuses with 402 once the quota is used up, and with 429 over the tokens-per-minute limit', async () => {
    const input = 'the quick brown fox'; // 6 tokens
    const { key: small } = await createKey(app, { label: 'embeddings-quota', quota_tokens: 10 });
    const send = (k: string) =>
      call(app.baseUrl, 'POST', '/v1/embeddings', {
        key: k,
        body: { model: 'embed', input },
        headers: { 'cache-control': 'no-store' },
      });
    expect((await send(small)).status).toBe(200);
    const over = await send(small);
    expect(over.status).toBe(402);
    expect(over.body.error.code).toBe('quota_exhausted');
    const { key: slow } = await createKey(app, { label: 'embeddings-tpm', tpm: 10 });
    expect((await send(slow)).status).toBe(200);
    const limited = await send(slow);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limit_exceeded');
    expect(limited.headers.get('x-ratelimit-limit-tokens')).toBe('10');
  });

  it('answers 403 for a key whose allowed_models leave the model out', async () => {
    const { key: limited } = await createKey(app, { label: 'embeddings-limited', allowed_models: ['tiny'] });
    const res = await call(app.baseUrl, 'POST', '/v1/embeddings', {
      key: limited,
      body: { model: 'embed', input: 'x' },
    });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('model_not_allowed');
  });

  it('serves the Vercel AI SDK: embed and embedMany through createOpenAI({ baseURL }).embedding(model)', async () => {
    const openai = createOpenAI({ apiKey: key, baseURL: `${app.baseUrl}/v1` });
    const model = openai.embedding('embed');
    const one = await embed({ model, value: 'sunny day at the beach', maxRetries: 0 });
    expect(one.embedding).toHaveLength(32);
    expect(one.usage.tokens).toBeGreaterThan(2);
    const many = await embedMany({
      model,
      values: ['sunny day at the beach', 'rainy night in the city', 'a'],
      maxRetries: 0,
    });
    expect(many.embeddings).toHaveLength(3);
    expect(cosineSimilarity(many.embeddings[0], one.embedding)).toBeGreaterThan(1 - 1e-6);
    expect(cosineSimilarity(many.embeddings[0], many.embeddings[1])).toBeLessThan(0.9999);
    const cut = await embed({ model, value: 'x', providerOptions: { openai: { dimensions: 16 } }, maxRetries: 0 });
    expect(cut.embedding).toHaveLength(16);
  });

  it('is described in the OpenAPI document (body, answer, errors)', async () => {
    const doc = (await call(app.baseUrl, 'GET', '/docs-json')).body;
    const op = doc.paths['/v1/embeddings'].post;
    const props = op.requestBody.content['application/json'].schema.properties;
    expect(Object.keys(props)).toEqual(
      expect.arrayContaining(['model', 'input', 'encoding_format', 'dimensions', 'user', 'truncate', 'input_type']),
    );
    expect(op.responses['200'].content['application/json'].schema.properties.data).toBeDefined();
    expect(op.responses['400'].description).toContain('unsupported_parameter');
  });

  it('forwards a remote model the body whole and reports the upstream usage', async () => {
    const before = upstream.received.length;
    const res = await client.embeddings.create({
      model: 'remote-embed',
      input: ['a', 'b'],
      encoding_format: 'float',
      dimensions: 3,
      user: 'u1',
    });
    expect(upstream.received.slice(before)).toEqual([
      {
        path: '/v1/embeddings',
        model: 'up-embed',
        input: ['a', 'b'],
        encoding_format: 'float',
        dimensions: 3,
        user: 'u1',
      },
    ]);
    expect(res.model).toBe('remote-embed');
    expect(res.data.map((d) => d.embedding)).toEqual([
      [0, 0.5, -0.25],
      [1, 0.5, -0.25],
    ]);
    expect(res.usage).toEqual({ prompt_tokens: 14, total_tokens: 14 });
  });

  it('applies models.yaml params to remote models: drop removes unknown fields and drop_params, strict refuses them', async () => {
    const before = upstream.received.length;
    const body = { input: 'x', user: 'u', vendor_flag: true, truncate: true };
    const dropped = await call(app.baseUrl, 'POST', '/v1/embeddings', { key, body: { ...body, model: 'remote-drop' } });
    expect(dropped.status).toBe(200);
    expect(upstream.received.slice(before)).toEqual([
      { path: '/v1/embeddings', model: 'remote-drop', input: 'x', truncate: true },
    ]);
    const strict = await call(app.baseUrl, 'POST', '/v1/embeddings', {
      key,
      body: { ...body, model: 'remote-strict' },
    });
    expect(strict.status).toBe(400);
    expect(strict.body.error).toMatchObject({ code: 'invalid_request', param: 'vendor_flag' });
    expect(upstream.received).toHaveLength(before + 1);
  });

  it('retries a remote 5xx like chat does, and passes a remote 400 through without retrying', async () => {
    const before = upstream.received.length;
    upstream.failures.push(503);
    const ok = await call(app.baseUrl, 'POST', '/v1/embeddings', {
      key,
      body: { model: 'remote-embed', input: 'retry me' },
    });
    expect(ok.status).toBe(200);
    expect(upstream.received.length - before).toBe(2);
    const metrics = await (await fetch(`${app.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/llm_upstream_requests_total\{model="remote-embed",outcome="retry"\} 1\n/);
    upstream.failures.push(400);
    const bad = await call(app.baseUrl, 'POST', '/v1/embeddings', {
      key,
      body: { model: 'remote-embed', input: 'refuse me' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('scripted 400');
    expect(upstream.received.length - before).toBe(3);
  });

  it('goes through the model’s circuit breaker (5xx open it, an open circuit fails fast, 4xx do not count) and counts its outcomes', async () => {
    const post = (input: string) =>
      call(app.baseUrl, 'POST', '/v1/embeddings', { key, body: { model: 'remote-fragile', input } });
    const before = upstream.received.length;
    upstream.failures.push(400, 400, 400);
    for (const input of ['a', 'b', 'c']) expect((await post(input)).status).toBe(400);
    expect((await post('alive')).status).toBe(200); // three 4xx left the circuit closed
    upstream.failures.push(500, 500);
    for (const input of ['d', 'e']) {
      const res = await post(input);
      expect(res.status).toBe(502);
      expect(res.body.error.code).toBe('upstream_error');
    }
    expect(upstream.received.length - before).toBe(6);
    const open = await post('refused');
    expect(open.status).toBe(503);
    expect(open.body.error.code).toBe('model_unavailable');
    expect(Number(open.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(upstream.received.length - before).toBe(6); // failed fast: the upstream saw nothing
    // Counted as chat's upstream attempts are: one success, five answered errors, one refused.
    const metrics = await (await fetch(`${app.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/llm_upstream_requests_total\{model="remote-fragile",outcome="success"\} 1\n/);
    expect(metrics).toMatch(/llm_upstream_requests_total\{model="remote-fragile",outcome="error"\} 5\n/);
    expect(metrics).toMatch(/llm_upstream_requests_total\{model="remote-fragile",outcome="circuit_open"\} 1\n/);
  });
});
