import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-code';
import { CircuitBreaker } from '../http/circuit-breaker';
import { ModelRegistry, type ProviderFactories } from './model-registry';
import { ModelsConfigError } from './models-config';
import { ScriptedProvider } from './testing/scripted-provider';

const yaml = (models: string, defaultModel = 'tiny'): string => `default_model: ${defaultModel}\nmodels:\n${models}`;
const TINY = '  - id: tiny\n    provider: onnx\n    path: tiny\n    aliases: [small]\n';
const BROKEN = '  - id: broken\n    provider: onnx\n    path: broken\n';
const big = (host = 'a'): string =>
  `  - id: big\n    provider: http\n    base_url: http://${host}:8000/v1\n    fallbacks: [tiny]\n`;

describe(ModelRegistry.name, () => {
  let dir: string;
  let file: string;
  let built: ScriptedProvider[];
  let factories: ProviderFactories;

  const write = (text: string): void => writeFileSync(file, text);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'llm-server-model-registry-'));
    file = join(dir, 'models.yaml');
    built = [];
    factories = {
      onnx: async (cfg) => {
        if (cfg.path.endsWith('broken')) throw new Error(`no onnx/model.onnx in ${cfg.path}`);
        const p = new ScriptedProvider(cfg.id, 'onnx');
        built.push(p);
        return p;
      },
      http: async (cfg) => {
        const p = new ScriptedProvider(`${cfg.id}@${new URL(cfg.baseUrl).hostname}`, 'http');
        built.push(p);
        return p;
      },
    };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves ids, aliases and the default model; unknown models are model_not_found', async () => {
    write(yaml(TINY + big()));
    const reg = await ModelRegistry.load(file, factories);
    expect(reg.resolve().id).toBe('tiny');
    expect(reg.resolve('small')).toMatchObject({ id: 'tiny', status: 'ready', version: 'onnx:tiny' });
    expect(reg.resolve('big').config.provider).toBe('http');
    let err: unknown;
    try {
      reg.resolve('huge');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: ErrorCode.ModelNotFound, status: 404, param: 'model' });
    expect((err as Error).message).toContain('"huge"');
  });

  it('keeps serving the other models when one fails to load, which answers model_unavailable', async () => {
    write(yaml(TINY + BROKEN));
    const warnings: string[] = [];
    const reg = await ModelRegistry.load(file, factories, { logger: { warn: (m) => warnings.push(m) } });
    expect(reg.resolve('broken')).toMatchObject({
      status: 'error',
      error: expect.stringContaining('no onnx/model.onnx'),
    });
    expect(() => reg.acquire('broken')).toThrow(expect.objectContaining({ code: ErrorCode.ModelUnavailable }));
    expect(reg.acquire('tiny').provider).toBe(built[0]);
    expect(warnings[0]).toContain('model "broken" failed to load');
  });

  it('lists provider, status, latency, load and breaker state', async () => {
    write(yaml(TINY + BROKEN + big()));
    const reg = await ModelRegistry.load(file, factories);
    const breaker = new CircuitBreaker('big', { failureThreshold: 1 });
    Object.assign(built[1], { breaker });
    breaker.acquire().failure();
    // A scripted clock: the lease is held for exactly 20 ms.
    const now = jest.spyOn(performance, 'now').mockReturnValue(1_000);
    const lease = reg.acquire('tiny');
    const held = reg.acquire('tiny');
    now.mockReturnValue(1_020);
    lease.release();
    now.mockRestore();
    const rows = await reg.list();
    expect(rows.map((r) => [r.id, r.provider, r.status])).toEqual([
      ['tiny', 'onnx', 'ready'],
      ['broken', 'onnx', 'error'],
      ['big', 'http', 'open-circuit'],
    ]);
    expect(rows[0]).toMatchObject({ isDefault: true, inflight: 1, queued: 2, up: true, aliases: ['small'] });
    expect(rows[0].latencyMs).toBe(20);
    expect(rows[1]).toMatchObject({ up: false, latencyMs: null, healthDetail: expect.stringContaining('no onnx') });
    expect(rows[2].breaker).toMatchObject({ state: 'open', consecutiveFailures: 1 });
    held.release();
  });

  it('reload swaps atomically, carries unchanged models over, and closes the old ones only after their leases', async () => {
    write(yaml(TINY + big('a')));
    const reg = await ModelRegistry.load(file, factories);
    const [tiny, bigA] = built;
    const inFlight = reg.acquire('big');

    write(yaml(TINY + big('b')));
    const report = await reg.reload();
    expect(report).toMatchObject({ added: [], removed: [], reloaded: ['big'], unchanged: ['tiny'] });
    expect(reg.acquire('tiny').provider).toBe(tiny);
    expect(reg.resolve('big').version).toBe('http:big@b');
    expect(inFlight.provider).toBe(bigA);
    expect(bigA.closed).toBe(false); // still leased

    inFlight.release();
    await report.retired;
    expect(bigA.closed).toBe(true);
    expect(tiny.closed).toBe(false);
  });

  it('reloads unchanged models too when forced', async () => {
    write(yaml(TINY));
    const reg = await ModelRegistry.load(file, factories);
    const report = await reg.reload(file, { force: true });
    expect(report).toMatchObject({ reloaded: ['tiny'], unchanged: [] });
    expect(reg.acquire('tiny').provider).toBe(built[1]);
    await report.retired;
    expect(built[0].closed).toBe(true);
  });

  it('refuses an invalid file and keeps the current models', async () => {
    write(yaml(TINY + big()));
    const reg = await ModelRegistry.load(file, factories);
    write(yaml(TINY + big().replace('fallbacks: [tiny]', 'fallbacks: [nope]')));
    await expect(reg.reload()).rejects.toThrow(`${file}: model "big": field "fallbacks": unknown model "nope"`);
    expect(reg.resolve('big').status).toBe('ready');
    expect(built.every((p) => !p.closed)).toBe(true);
  });

  it('refuses a reload whose new model fails to load, closing what it built', async () => {
    write(yaml(TINY));
    const reg = await ModelRegistry.load(file, factories);
    write(yaml(TINY + BROKEN + big()));
    const err = await reg.reload().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelsConfigError);
    expect((err as Error).message).toContain('model "broken": failed to load');
    expect(() => reg.resolve('big')).toThrow(expect.objectContaining({ code: ErrorCode.ModelNotFound }));
    const bigProvider = built.find((p) => p.kind === 'http');
    expect(bigProvider?.closed).toBe(true);
  });

  it('allows a reload when a model that was already broken stays broken', async () => {
    write(yaml(TINY + BROKEN));
    const reg = await ModelRegistry.load(file, factories);
    write(yaml(TINY + BROKEN + big()));
    await expect(reg.reload()).resolves.toMatchObject({ added: ['big'] });
    expect(reg.resolve('broken').status).toBe('error');
  });

  it('close() waits for leases, then closes every provider', async () => {
    write(yaml(TINY));
    const reg = await ModelRegistry.load(file, factories);
    const lease = reg.acquire();
    let closed = false;
    const closing = reg.close().then(() => (closed = true));
    // Closing waits on promises, not timers: once everything pending has run, it is still waiting.
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    expect(built[0].closed).toBe(false);
    lease.release();
    await closing;
    expect(built[0].closed).toBe(true);
  });
});
