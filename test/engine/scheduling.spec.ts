import { ApiError } from '../../src/common/errors/api-error';
import { ErrorCode } from '../../src/common/errors/error-code';
import { createOnnxProvider, type OnnxProvider } from '../../src/models/onnx';
import { modelRoot, request } from './engine-fixtures';

/** Bounded queues, cancellation and shutdown. */
const models = modelRoot('scheduling');
let dir: string;

beforeAll(async () => {
  // Long context so requests can run for a while; EOS ids removed so nothing ends early.
  dir = await models.build('sched', { arch: 'llama', kvHeads: 2, maxPositions: 4096 });
  const { readFileSync, writeFileSync } = await import('node:fs');
  for (const f of ['config.json', 'generation_config.json']) {
    const json = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'));
    json.eos_token_id = [];
    writeFileSync(`${dir}/${f}`, JSON.stringify(json));
  }
});

let provider: OnnxProvider;
afterEach(() => provider?.close());

const LONG = { maxTokens: 3000 };
/** Resolves after the provider produced `n` more tokens. */
function tokensLater(p: OnnxProvider, n: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    p.setHooks({ onToken: () => ++seen === n && resolve() });
  });
}

describe('bounded queue', () => {
  it('rejects work beyond maxBatchSize + maxQueue with model_unavailable and Retry-After', async () => {
    provider = await createOnnxProvider({ id: 'q', path: dir, maxBatchSize: 1, maxQueue: 1, retryAfterSeconds: 2 });
    const ctl = new AbortController();
    const running = provider.generate(request('a', LONG, { signal: ctl.signal })).catch((e: unknown) => e);
    const queued = provider.generate(request('b', { maxTokens: 3 }));
    const err = await provider.generate(request('c')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: ErrorCode.ModelUnavailable, status: 503, headers: { 'Retry-After': '2' } });
    expect(await provider.health()).toMatchObject({ up: true, inflight: 0, queued: 2 });
    await tokensLater(provider, 3);
    expect(await provider.health()).toMatchObject({ inflight: 1, queued: 1 });
    ctl.abort();
    expect((await queued).usage.completionTokens).toBe(3); // the queued one got the freed slot
    expect(await running).toMatchObject({ name: 'AbortError' });
  });
});

describe('cancellation', () => {
  it('stops an aborted request at the next step and frees its batch slot', async () => {
    provider = await createOnnxProvider({ id: 'c', path: dir, maxBatchSize: 1, maxQueue: 0 });
    const ctl = new AbortController();
    const reason = new Error('client went away');
    const running = provider.generate(request('abort me', LONG, { signal: ctl.signal }));
    await tokensLater(provider, 5);
    expect(provider.stats().inflight).toBe(1);
    await expect(provider.generate(request('no room'))).rejects.toMatchObject({ code: ErrorCode.ModelUnavailable });
    let after = 0;
    provider.setHooks({ onToken: () => after++ });
    ctl.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect(after).toBeLessThanOrEqual(1); // at most the step already under way
    expect(provider.stats().inflight).toBe(0);
    expect((await provider.generate(request('now there is', { maxTokens: 4 }))).usage.completionTokens).toBe(4);
  });

  it('frees the slot when a streaming consumer stops reading', async () => {
    provider = await createOnnxProvider({ id: 's', path: dir, maxBatchSize: 1, maxQueue: 0 });
    let deltas = 0;
    for await (const e of provider.stream(request('stream then leave', LONG))) {
      if (e.type === 'delta' && ++deltas === 5) break;
    }
    const r = await provider.generate(request('next', { maxTokens: 3 })); // queued until the slot frees
    expect(r.usage.completionTokens).toBe(3);
    expect(provider.stats()).toMatchObject({ inflight: 0, queued: 0 });
  });

  it('removes an aborted request from the queue at once', async () => {
    provider = await createOnnxProvider({ id: 'd', path: dir, maxBatchSize: 1, maxQueue: 1 });
    const hog = new AbortController();
    const running = provider.generate(request('hog', LONG, { signal: hog.signal })).catch((e: unknown) => e);
    await tokensLater(provider, 2);
    const waiter = new AbortController();
    const queued = provider.generate(request('waiting', {}, { signal: waiter.signal }));
    expect(provider.stats().queued).toBe(1);
    waiter.abort();
    await expect(queued).rejects.toBeDefined();
    expect(provider.stats().queued).toBe(0);
    const again = provider.generate(request('fits in the queue again', { maxTokens: 2 })); // would overflow otherwise
    hog.abort();
    expect((await again).usage.completionTokens).toBe(2);
    await running;
  });

  it('rejects a request whose signal is already aborted without queueing it', async () => {
    provider = await createOnnxProvider({ id: 'e', path: dir });
    const ctl = new AbortController();
    ctl.abort(new Error('too late'));
    await expect(provider.generate(request('x', {}, { signal: ctl.signal }))).rejects.toThrow('too late');
    expect(provider.stats().queued).toBe(0);
  });
});

describe('close', () => {
  it('rejects queued and running work, then reports the model down', async () => {
    provider = await createOnnxProvider({ id: 'z', path: dir, maxBatchSize: 1, maxQueue: 4 });
    const running = provider.generate(request('running', LONG));
    const queued = provider.generate(request('queued'));
    await tokensLater(provider, 2);
    await provider.close();
    await expect(queued).rejects.toMatchObject({ code: ErrorCode.ModelUnavailable });
    await expect(running).rejects.toMatchObject({ code: ErrorCode.ModelUnavailable });
    expect(await provider.health()).toMatchObject({ up: false });
    await expect(provider.generate(request('late'))).rejects.toMatchObject({ code: ErrorCode.ModelUnavailable });
  });
});

describe('hooks', () => {
  it('reports batch size, queue depth, first-token latency and tokens', async () => {
    provider = await createOnnxProvider({ id: 'h', path: dir, maxBatchSize: 4 });
    const seen = {
      batch: [] as number[],
      queue: [] as number[],
      firstToken: [] as number[],
      tokens: 0,
      inflight: [] as number[],
    };
    provider.setHooks({
      onBatch: (n) => seen.batch.push(n),
      onQueueDepth: (n) => seen.queue.push(n),
      onFirstToken: (ms) => seen.firstToken.push(ms),
      onToken: () => seen.tokens++,
      onInflight: (n) => seen.inflight.push(n),
    });
    await Promise.all([1, 2, 3].map((i) => provider.generate(request(`p${i}`, { maxTokens: 5 }))));
    expect(Math.max(...seen.batch)).toBe(3);
    expect(Math.max(...seen.queue)).toBe(3);
    expect(seen.queue.at(-1)).toBe(0);
    expect(seen.firstToken).toHaveLength(3);
    seen.firstToken.forEach((ms) => expect(ms).toBeGreaterThan(0));
    expect(seen.tokens).toBe(15);
    expect(seen.inflight).toContain(3);
    expect(seen.inflight.at(-1)).toBe(0);
    expect(provider.stats().lastBatchSize).toBe(0); // idle again
  });

  it('keeps generating when a hook throws', async () => {
    provider = await createOnnxProvider({
      id: 'x',
      path: dir,
      hooks: {
        onToken: () => {
          throw new Error('metrics down');
        },
      },
    });
    expect((await provider.generate(request('still fine', { maxTokens: 3 }))).usage.completionTokens).toBe(3);
  });
});
