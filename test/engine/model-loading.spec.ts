import { cpSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { createOnnxProvider, ModelLoadError } from '../../src/models/onnx';
import { resetFallbackWarnings } from '../../src/models/onnx/session';
import { modelRoot, request } from './engine-fixtures';

const models = modelRoot('loading');
let good: string;
let n = 0;

beforeAll(async () => {
  good = await models.build('good', { arch: 'llama', kvHeads: 2 });
});

/** A copy of the good folder, changed by `damage`. */
function damaged(damage: (dir: string) => void): string {
  const dir = join(models.root, `damaged-${n++}`);
  cpSync(good, dir, { recursive: true });
  damage(dir);
  return dir;
}

async function loadError(path: string, variant?: string): Promise<ModelLoadError> {
  const err = await createOnnxProvider({ id: 'm', path, variant }).then(
    async (p) => {
      await p.close();
      throw new Error('expected the load to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelLoadError);
  return err as ModelLoadError;
}

const editJson = (file: string, edit: (j: Record<string, unknown>) => void) => {
  const json = JSON.parse(readFileSync(file, 'utf8'));
  edit(json);
  writeFileSync(file, JSON.stringify(json));
};

describe('malformed model folders', () => {
  it('names a missing required file', async () => {
    const err = await loadError(damaged((d) => rmSync(join(d, 'tokenizer.json'))));
    expect(err.file).toMatch(/tokenizer\.json$/);
    expect(err.reason).toBe('required file is missing');
  });

  it('names a file with invalid JSON', async () => {
    const err = await loadError(damaged((d) => writeFileSync(join(d, 'config.json'), '{"model_type": "llama",')));
    expect(err.file).toMatch(/config\.json$/);
    expect(err.message).toMatch(/invalid JSON/);
  });

  it('rejects an unsupported model_type', async () => {
    const err = await loadError(damaged((d) => editJson(join(d, 'config.json'), (c) => (c.model_type = 'bert'))));
    expect(err.file).toMatch(/config\.json$/);
    expect(err.reason).toMatch(/model_type "bert" is not supported/);
  });

  it('rejects a graph that lacks inputs the config implies', async () => {
    const err = await loadError(damaged((d) => editJson(join(d, 'config.json'), (c) => (c.num_hidden_layers = 3))));
    expect(err.file).toMatch(/onnx\/model\.onnx$/);
    expect(err.reason).toMatch(/graph has no input "past_key_values\.2\.key"/);
  });

  it('rejects a graph missing one of the present outputs', async () => {
    const dir = damaged((d) => {
      const file = join(d, 'onnx/model.onnx');
      const model = onnx.ModelProto.decode(readFileSync(file));
      model.graph!.output = model.graph!.output!.filter((o) => o.name !== 'present.1.value');
      writeFileSync(file, onnx.ModelProto.encode(model).finish());
    });
    expect((await loadError(dir)).reason).toMatch(/graph has no output "present\.1\.value"/);
  });

  it('rejects a file that is not an ONNX graph', async () => {
    const err = await loadError(damaged((d) => writeFileSync(join(d, 'onnx/model.onnx'), 'not a model')));
    expect(err.reason).toMatch(/onnxruntime cannot load the graph/);
  });

  it('says which graph file it looked for when a variant is missing', async () => {
    const err = await loadError(good, 'q4');
    expect(err.file).toMatch(/onnx\/model_q4\.onnx$/);
    expect(err.reason).toMatch(/dtype q4 expects onnx\/model_q4\.onnx .*\(present: onnx\/model\.onnx \(fp32\)\)/);
    expect((await loadError(good, 'int3')).reason).toMatch(/unknown dtype "int3"/);
  });

  it('rejects a folder that does not exist', async () => {
    expect((await loadError(join(models.root, 'nope'))).reason).toBe('model folder does not exist');
  });
});

describe('model folder layouts', () => {
  it('picks the graph file for the variant, and the older merged-decoder name', async () => {
    const quantized = damaged((d) => renameSync(join(d, 'onnx/model.onnx'), join(d, 'onnx/model_quantized.onnx')));
    const legacy = damaged((d) => renameSync(join(d, 'onnx/model.onnx'), join(d, 'onnx/decoder_model_merged.onnx')));
    const base = await createOnnxProvider({ id: 'base', path: good });
    const expected = await base.generate(request('abc'));
    await base.close();
    for (const [path, variant] of [
      [quantized, 'q8'],
      [quantized, 'quantized'],
      [legacy, 'fp32'],
    ]) {
      const p = await createOnnxProvider({ id: 'v', path, variant });
      expect(await p.generate(request('abc'))).toEqual(expected);
      await p.close();
    }
    expect((await loadError(quantized, 'fp32')).file).toMatch(/model\.onnx$/);
  });
});

describe('version', () => {
  it('is stable for the same files and changes when the graph or a config changes', async () => {
    const dir = damaged(() => undefined);
    const version = async () => {
      const p = await createOnnxProvider({ id: 'v', path: dir });
      await p.close();
      return p.version;
    };
    const v1 = await version();
    expect(v1).toMatch(/^[0-9a-f]{12}$/);
    expect(await version()).toBe(v1);
    editJson(join(dir, 'generation_config.json'), (g) => (g.temperature = 0.5));
    const v2 = await version();
    expect(v2).not.toBe(v1);
    const later = new Date(Date.now() + 5000);
    utimesSync(join(dir, 'onnx/model.onnx'), later, later);
    expect(await version()).not.toBe(v2);
  });
});

describe('execution providers', () => {
  it('falls back to cpu with one warning and reports the effective device', async () => {
    resetFallbackWarnings();
    const warnings: string[] = [];
    const logger = { warn: (m: string) => warnings.push(m) };
    const a = await createOnnxProvider({ id: 'a', path: good, device: 'cuda', logger });
    const b = await createOnnxProvider({ id: 'b', path: good, device: 'cuda', logger });
    try {
      expect([a.device, b.device]).toEqual(['cpu', 'cpu']);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/execution provider "cuda" is unavailable.*running on cpu/);
      expect((await a.generate(request('works anyway'))).usage.completionTokens).toBeGreaterThan(0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('generates the same with idle-thread spinning on and off', async () => {
    const a = await createOnnxProvider({ id: 'a', path: good, threads: 2, spinWait: true });
    const b = await createOnnxProvider({ id: 'b', path: good, threads: 2, spinWait: false });
    try {
      expect(await b.generate(request('spin'))).toEqual(await a.generate(request('spin')));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('treats mps as an alias of coreml', async () => {
    resetFallbackWarnings();
    const warnings: string[] = [];
    const p = await createOnnxProvider({
      id: 'm',
      path: good,
      device: 'mps',
      logger: { warn: (m) => warnings.push(m) },
    });
    await p.close();
    // On Linux there is no CoreML: the fallback names the provider the alias resolved to.
    if (process.platform !== 'darwin') expect(warnings[0]).toMatch(/"coreml" is unavailable/);
    expect(['cpu', 'coreml']).toContain(p.device);
  });
});

describe('tokenizer files', () => {
  it('uses chat_template.jinja when the folder ships one', async () => {
    const dir = damaged((d) =>
      writeFileSync(join(d, 'chat_template.jinja'), '{% for m in messages %}{{ m.content }}{% endfor %}'),
    );
    const p = await createOnnxProvider({ id: 't', path: dir });
    // byte vocabulary: one token per byte, nothing added by the template
    expect(await p.countTokens([{ role: 'user', content: 'hello' }])).toBe(5);
    await p.close();
  });

  it('turns a template that refuses the conversation into invalid_request on messages', async () => {
    const template =
      "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}ok";
    const dir = damaged((d) => writeFileSync(join(d, 'chat_template.jinja'), template));
    const p = await createOnnxProvider({ id: 't', path: dir });
    try {
      const messages = [{ role: 'system' as const, content: 'x' }];
      const expected = {
        code: 'invalid_request',
        param: 'messages',
        message: expect.stringMatching(/System role not supported/),
      };
      await expect(p.generate({ messages, params: request('').params })).rejects.toMatchObject(expected);
      await expect(p.countTokens(messages)).rejects.toMatchObject(expected);
    } finally {
      await p.close();
    }
  });

  it('reports a chat template that does not parse as a load error', async () => {
    const dir = damaged((d) => editJson(join(d, 'tokenizer_config.json'), (c) => (c.chat_template = '{% for x in %}')));
    expect((await loadError(dir)).reason).toMatch(/chat template/);
  });
});
