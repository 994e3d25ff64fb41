import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '../../common/errors/error-code';
import { declaresNoModels, ModelsConfigError, loadModelsConfig, parseModelsConfig } from './models-config';

const FILE = 'models.yaml';
const valid = `
default_model: tiny
models:
  - id: tiny
    provider: onnx
    path: models/tiny
    device: mps
  - id: big
    provider: http
    base_url: http://gpu-host:8000/v1
    upstream_model: meta-llama/Llama-3.1-8B-Instruct
    api_key_env: BIG_API_KEY
    timeout_ms: 60000
    fallbacks: [tiny]
    aliases: [large]
`;

/** The message of the error a text is refused with. */
function refusal(text: string, env: Record<string, string> = {}): string {
  try {
    parseModelsConfig(text, FILE, { env });
  } catch (err) {
    expect(err).toBeInstanceOf(ModelsConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the config to be refused');
}

/** The valid file with the `big` model's block replaced. */
const withBig = (block: string): string => valid.replace(/ {2}- id: big[\s\S]*$/, block);

describe('models.yaml', () => {
  it('loads the documented example: camelCase, defaults, mps → coreml, absolute paths', () => {
    const cfg = parseModelsConfig(valid, '/etc/llm/models.yaml');
    expect(cfg.defaultModel).toBe('tiny');
    expect(cfg.models[0]).toEqual({
      id: 'tiny',
      provider: 'onnx',
      path: '/etc/llm/models/tiny',
      device: 'coreml',
      aliases: [],
      fallbacks: [],
    });
    expect(cfg.models[1]).toEqual({
      id: 'big',
      provider: 'http',
      baseUrl: 'http://gpu-host:8000/v1',
      upstreamModel: 'meta-llama/Llama-3.1-8B-Instruct',
      apiKeyEnv: 'BIG_API_KEY',
      timeoutMs: 60000,
      maxRetries: 2,
      extendedSampling: false,
      fallbacks: ['tiny'],
      aliases: ['large'],
    });
  });

  it('reads the graph selection: dtype, an explicit file, and variant as the older name of dtype', () => {
    const onnx = (fields: string) =>
      parseModelsConfig(withBig(`  - id: big\n    provider: onnx\n    path: m\n${fields}`), FILE).models[1];
    expect(onnx('    dtype: q4f16\n')).toMatchObject({ dtype: 'q4f16' });
    expect(onnx('    variant: fp16\n')).toMatchObject({ dtype: 'fp16' });
    expect(onnx('    file: onnx/model_q4.onnx\n')).toMatchObject({ file: 'onnx/model_q4.onnx' });
  });

  it('resolves relative paths against the folder of the file it read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-server-models-config-'));
    try {
      writeFileSync(join(dir, 'models.yaml'), valid);
      const cfg = await loadModelsConfig(join(dir, 'models.yaml'));
      expect(cfg.models[0]).toMatchObject({ path: join(dir, 'models/tiny') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells a file that deliberately lists no models from every other file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-server-models-config-'));
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    try {
      expect(await declaresNoModels(file('none.yaml', '# nothing to serve\nmodels: []\n'))).toBe(true);
      expect(await declaresNoModels(file('default.yaml', 'default_model: a\nmodels: []\n'))).toBe(false);
      expect(await declaresNoModels(file('valid.yaml', valid))).toBe(false);
      expect(await declaresNoModels(file('empty.yaml', ''))).toBe(false);
      expect(await declaresNoModels(file('bad.yaml', 'models: [\n'))).toBe(false);
      expect(await declaresNoModels(join(dir, 'missing.yaml'))).toBe(false);
      // The loader itself still refuses it: a reload to it would leave nothing to serve.
      await expect(loadModelsConfig(join(dir, 'none.yaml'))).rejects.toThrow('must list at least one model');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a missing file, naming it', async () => {
    await expect(loadModelsConfig('/nonexistent/models.yaml')).rejects.toThrow(
      '/nonexistent/models.yaml: cannot be read: ENOENT',
    );
  });

  it('is an invalid_request ApiError (a reload endpoint answers 400 with it)', () => {
    try {
      parseModelsConfig('default_model: x', FILE);
    } catch (err) {
      expect((err as ModelsConfigError).code).toBe(ErrorCode.InvalidRequest);
      expect((err as ModelsConfigError).issues[0]).toEqual({ field: 'models', message: 'is required' });
    }
    expect.assertions(2);
  });

  it.each([
    [
      'a bad value',
      withBig('  - id: big\n    provider: http\n    base_url: http://h/v1\n    timeout_ms: -5\n'),
      'models.yaml: model "big": field "timeout_ms": must be a positive integer',
    ],
    [
      'a non-integer',
      withBig('  - id: big\n    provider: http\n    base_url: http://h/v1\n    max_retries: 1.5\n'),
      'models.yaml: model "big": field "max_retries": must be an integer >= 0',
    ],
    [
      'an unknown field',
      withBig('  - id: big\n    provider: http\n    base_url: http://h/v1\n    temprature: 1\n'),
      'models.yaml: model "big": field "temprature": unknown field',
    ],
    [
      'an onnx field on an http model',
      withBig('  - id: big\n    provider: http\n    base_url: http://h/v1\n    path: x\n'),
      'models.yaml: model "big": field "path": only allowed for provider "onnx"',
    ],
    [
      'an http field on an onnx model',
      withBig('  - id: big\n    provider: onnx\n    path: x\n    base_url: http://h/v1\n'),
      'models.yaml: model "big": field "base_url": only allowed for provider "http"',
    ],
    [
      'a missing base_url',
      withBig('  - id: big\n    provider: http\n'),
      'models.yaml: model "big": field "base_url": is required',
    ],
    [
      'a bad URL',
      withBig('  - id: big\n    provider: http\n    base_url: gpu-host:8000\n'),
      'models.yaml: model "big": field "base_url": must be an http(s) URL',
    ],
    [
      'an unknown provider',
      withBig('  - id: big\n    provider: grpc\n'),
      'models.yaml: model "big": field "provider": must be one of onnx, http',
    ],
    [
      'a bad params mode',
      withBig('  - id: big\n    provider: http\n    base_url: http://h/v1\n    params: loose\n'),
      'models.yaml: model "big": field "params": must be one of forward, drop, strict',
    ],
    [
      'a bad drop_params',
      withBig('  - id: big\n    provider: http\n    base_url: http://h/v1\n    drop_params: store\n'),
      'models.yaml: model "big": field "drop_params": must be a list of field names',
    ],
    [
      'a bad device',
      withBig('  - id: big\n    provider: onnx\n    path: x\n    device: tpu\n'),
      'models.yaml: model "big": field "device": must be one of cpu, coreml, mps, cuda',
    ],
    [
      'a nested unknown field',
      withBig('  - id: big\n    provider: http\n    base_url: http://h/v1\n    circuit_breaker: {cooldown: 5}\n'),
      'models.yaml: model "big": field "circuit_breaker.cooldown": unknown field',
    ],
    [
      'a model without id',
      withBig('  - provider: http\n    base_url: http://h/v1\n'),
      'models.yaml: model "#2": field "id": is required',
    ],
    [
      'a duplicate id',
      withBig('  - id: tiny\n    provider: http\n    base_url: http://h/v1\n'),
      'models.yaml: model "tiny": field "id": "tiny" is already used by model "tiny"',
    ],
    [
      'an alias clashing with an id',
      withBig('  - id: big\n    provider: http\n    base_url: http://h/v1\n    aliases: [tiny]\n'),
      'models.yaml: model "big": field "aliases": "tiny" is already used by model "tiny"',
    ],
    [
      'an unknown fallback',
      withBig('  - id: big\n    provider: http\n    base_url: http://h/v1\n    fallbacks: [huge]\n'),
      'models.yaml: model "big": field "fallbacks": unknown model "huge"',
    ],
    [
      'a self fallback',
      withBig('  - id: big\n    provider: http\n    base_url: http://h/v1\n    fallbacks: [big]\n'),
      'models.yaml: model "big": field "fallbacks": a model cannot fall back to itself',
    ],
    ['an unknown top-level field', `${valid}\nextra: 1\n`, 'models.yaml: field "extra": unknown field'],
    [
      'an unknown default model',
      valid.replace('default_model: tiny', 'default_model: nope'),
      'models.yaml: field "default_model": unknown model "nope" (models: tiny, big)',
    ],
    [
      'a missing default model',
      valid.replace('default_model: tiny', ''),
      'models.yaml: field "default_model": is required',
    ],
    [
      'an empty model list',
      'default_model: a\nmodels: []\n',
      'models.yaml: field "models": must list at least one model',
    ],
    ['broken YAML', 'default_model: [\n', 'models.yaml: is not valid YAML'],
    ['an empty file', '', 'models.yaml: must be a mapping with default_model and models'],
  ])('refuses %s, naming file, model and field', (_what, text, message) => {
    expect(refusal(text)).toContain(message);
  });

  it('reads params and drop_params (docs/api.md, wire fidelity), leaving them out when not set', () => {
    const cfg = parseModelsConfig(
      withBig(
        '  - id: big\n    provider: http\n    base_url: http://h/v1\n    params: drop\n    drop_params: [store, seed]\n',
      ),
      FILE,
    );
    expect(cfg.models[1]).toMatchObject({ params: 'drop', dropParams: ['store', 'seed'] });
    expect(cfg.models[0]).not.toHaveProperty('params');
  });

  it('reads api (chat | responses), only for http models, leaving it out when not set', () => {
    const cfg = parseModelsConfig(
      withBig('  - id: big\n    provider: http\n    base_url: http://h/v1\n    api: responses\n'),
      FILE,
    );
    expect(cfg.models[1]).toMatchObject({ api: 'responses' });
    expect(parseModelsConfig(valid, FILE).models[1]).not.toHaveProperty('api');
    expect(
      refusal(withBig('  - id: big\n    provider: http\n    base_url: http://h/v1\n    api: completions\n')),
    ).toContain('models.yaml: model "big": field "api": must be one of chat, responses');
    expect(refusal(valid.replace('    device: mps', '    device: mps\n    api: responses'))).toContain(
      'field "api": only allowed for provider "http"',
    );
  });

  it('reads task and the encoder settings (docs/embeddings.md)', () => {
    const enc =
      '  - id: embed\n    provider: onnx\n    task: embeddings\n    path: models/e\n    pooling: cls\n    normalize: false\n' +
      '    query_prefix: "query: "\n    document_prefix: "passage: "\n    matryoshka_dimensions: [32, 16]\n    max_batch_tokens: 4096\n';
    expect(parseModelsConfig(withBig(enc), FILE).models[1]).toMatchObject({
      task: 'embeddings',
      pooling: 'cls',
      normalize: false,
      queryPrefix: 'query: ',
      documentPrefix: 'passage: ',
      matryoshkaDimensions: [32, 16],
      maxBatchTokens: 4096,
    });
    expect(parseModelsConfig(valid, FILE).models[0]).not.toHaveProperty('task');
    expect(refusal(withBig(enc.replace('pooling: cls', 'pooling: max')))).toContain(
      'field "pooling": must be one of mean, cls, last',
    );
    expect(refusal(withBig(enc.replace('task: embeddings', 'task: rerank')))).toContain(
      'field "task": must be one of chat, embeddings',
    );
  });

  it('refuses fallback cycles', () => {
    const text = valid.replace('    device: mps', '    device: mps\n    fallbacks: [big]');
    expect(refusal(text)).toContain('field "fallbacks": fallback cycle: tiny -> big -> tiny');
  });

  it('reports every problem at once', () => {
    const msg = refusal(
      withBig('  - id: big\n    provider: http\n    base_url: http://h/v1\n    timeout_ms: 0\n    max_retries: -1\n'),
    );
    expect(msg.split('\n')).toEqual([
      'models.yaml: model "big": field "timeout_ms": must be a positive integer',
      'models.yaml: model "big": field "max_retries": must be an integer >= 0',
    ]);
  });

  it('interpolates ${VAR} and ${VAR:-default} in base_url, refusing unset variables', () => {
    const text = withBig('  - id: big\n    provider: http\n    base_url: http://${GPU_HOST}:${GPU_PORT:-8000}/v1\n');
    expect(parseModelsConfig(text, FILE, { env: { GPU_HOST: 'gpu1' } }).models[1]).toMatchObject({
      baseUrl: 'http://gpu1:8000/v1',
    });
    expect(refusal(text)).toContain(
      'models.yaml: model "big": field "base_url": environment variable GPU_HOST is not set',
    );
  });
});
