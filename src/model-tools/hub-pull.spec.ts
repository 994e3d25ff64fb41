import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel } from './build-model';
import { HubError, pullModel, selectFiles, yamlEntry } from './hub-pull';
import { OrtDecoder } from './ort-decoder';

/**
 * A local imitation of the hub: the listing API and /resolve/ URLs on one origin (token
 * required), large files redirected (302) to a "CDN" on another origin, as the real hub does.
 */
const root = mkdtempSync(join(tmpdir(), 'model-tools-pull-'));
const TOKEN = 'secret-token';
const files = new Map<string, Buffer>();
const cdnHeaders: IncomingHttpHeaders[] = [];
const hubPaths: string[] = [];
let hub: Server, cdn: Server, hubUrl: string, cdnUrl: string;

const listen = (s: Server) =>
  new Promise<string>((r) =>
    s.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)),
  );

/** What the imitation hub serves for the fp32 variant, in the order the puller fetches it. */
const FP32_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'onnx/model.onnx',
];

beforeAll(async () => {
  const src = join(root, 'src');
  await buildModel({ outDir: src, arch: 'llama', layers: 1, hidden: 32, heads: 2 });
  for (const f of FP32_FILES) {
    files.set(f, readFileSync(join(src, f)));
  }
  files.set('onnx/model_quantized.onnx', Buffer.from('quantized graph'));
  files.set('onnx/model_quantized.onnx_data', Buffer.alloc(70_000, 7));
  files.set('onnx/model_fp16.onnx', Buffer.from('fp16 graph'));
  files.set('onnx/model_q4.onnx', Buffer.from('q4 graph'));
  files.set('onnx/model_q4.onnx_data', Buffer.alloc(1000, 4));
  files.set('onnx/model_q4.onnx_data_1', Buffer.alloc(500, 5));
  files.set('README.md', Buffer.from('# readme'));

  cdn = createServer((req, res) => {
    cdnHeaders.push(req.headers);
    const file = decodeURIComponent((req.url ?? '').replace(/^\/blob\//, ''));
    const body = files.get(file);
    res.writeHead(body ? 200 : 404, { 'content-length': body?.length ?? 0 }).end(body);
  });
  cdnUrl = await listen(cdn);
  hub = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    hubPaths.push(url.pathname);
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(401).end('{"error":"unauthorized"}');
    const list = /^\/api\/models\/org\/Tiny-Model\/revision\/([^/]+)$/.exec(url.pathname);
    if (list) {
      const siblings = [...files].map(([rfilename, b]) => ({
        rfilename,
        // The listing lies about one file's size so the size check can be tested.
        size: rfilename === 'onnx/model_fp16.onnx' ? b.length + 5 : b.length,
      }));
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ id: 'org/Tiny-Model', siblings }));
    }
    const resolve = /^\/org\/Tiny-Model\/resolve\/main\/(.+)$/.exec(url.pathname);
    const file = resolve && decodeURIComponent(resolve[1]);
    if (file && file.includes('_quantized'))
      return void res.writeHead(302, { location: `${cdnUrl}/blob/${encodeURIComponent(file)}` }).end();
    const body = file ? files.get(file) : undefined;
    if (!body) return void res.writeHead(404).end('{"error":"not found"}');
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  hubUrl = await listen(hub);
});

afterAll(async () => {
  await new Promise((r) => hub.close(r));
  await new Promise((r) => cdn.close(r));
  rmSync(root, { recursive: true, force: true });
});

const pull = (extra: Partial<Parameters<typeof pullModel>[0]> = {}) =>
  pullModel({ repo: 'org/Tiny-Model', endpoint: hubUrl, token: TOKEN, ...extra });

describe('pullModel', () => {
  it('downloads the fp32 folder, which then loads and runs', async () => {
    const out = join(root, 'fp32');
    const r = await pull({ outDir: out });
    expect(r.files.map((f) => f.file)).toEqual(FP32_FILES);
    for (const f of r.files) expect(readFileSync(join(out, f.file)).equals(files.get(f.file)!)).toBe(true);
    expect(r.name).toBe('tiny-model');
    expect(r.yamlEntry).toBe(`- id: tiny-model\n  provider: onnx\n  path: ${out}`);
    const dec = await OrtDecoder.load(join(out, 'onnx/model.onnx'));
    expect((await dec.forward([[1, 2, 3]], [[1, 1, 1]])).dims).toEqual([1, 3, 259]);
    await dec.release();
    expect(hubPaths).toContain('/api/models/org/Tiny-Model/revision/main');
  });

  it('follows the redirect for the q8 variant and its external data, without sending the token to the CDN', async () => {
    const out = join(root, 'q8');
    cdnHeaders.length = 0;
    const r = await pull({ outDir: out, variant: 'q8' });
    expect(r.files.map((f) => f.file).slice(-2)).toEqual([
      'onnx/model_quantized.onnx',
      'onnx/model_quantized.onnx_data',
    ]);
    expect(
      readFileSync(join(out, 'onnx/model_quantized.onnx_data')).equals(files.get('onnx/model_quantized.onnx_data')!),
    ).toBe(true);
    expect(cdnHeaders).toHaveLength(2);
    expect(cdnHeaders.every((h) => h.authorization === undefined)).toBe(true);
    expect(existsSync(join(out, 'onnx/model.onnx'))).toBe(false);
    expect(readdirSync(join(out, 'onnx')).some((f) => f.includes('.part'))).toBe(false);
  });

  it('fetches only the chosen dtype and all its external data files, and names the dtype in the yaml entry', async () => {
    const out = join(root, 'q4');
    const r = await pull({ outDir: out, dtype: 'q4' });
    expect(r.files.map((f) => f.file).filter((f) => f.startsWith('onnx/'))).toEqual([
      'onnx/model_q4.onnx',
      'onnx/model_q4.onnx_data',
      'onnx/model_q4.onnx_data_1',
    ]);
    expect(readdirSync(join(out, 'onnx')).sort()).toEqual([
      'model_q4.onnx',
      'model_q4.onnx_data',
      'model_q4.onnx_data_1',
    ]);
    expect(r.yamlEntry).toBe(`- id: tiny-model\n  provider: onnx\n  path: ${out}\n  dtype: q4`);
  });

  it('says what is wrong without a token, for an unknown repository and for a missing variant', async () => {
    await expect(pull({ token: '' })).rejects.toThrow(/401 unauthorized — set HF_TOKEN/);
    await expect(pull({ token: 'wrong' })).rejects.toThrow(/HF_TOKEN was refused/);
    await expect(pull({ repo: 'org/Nope' })).rejects.toThrow(/not found — check the repository id "org\/Nope"/);
    await expect(pull({ dtype: 'q4f16' })).rejects.toThrow('dtype "q4f16" not found; available: fp32, q8, fp16, q4');
    await expect(pull({ repo: 'not a repo' })).rejects.toThrow(HubError);
    const closed = createServer();
    const deadUrl = await listen(closed);
    await new Promise((r) => closed.close(r));
    await expect(pull({ endpoint: deadUrl })).rejects.toThrow(`cannot reach ${deadUrl}: ECONNREFUSED`);
  });

  it('refuses a file whose size does not match the listing and leaves nothing behind', async () => {
    const out = join(root, 'fp16');
    await expect(pull({ outDir: out, variant: 'fp16' })).rejects.toThrow(/got 10 bytes, listing says 15/);
    expect(readdirSync(join(out, 'onnx'))).toEqual([]);
  });
});

describe('selectFiles', () => {
  it('falls back to the legacy decoder_model_merged name and skips unrelated files', () => {
    const siblings = [
      'config.json',
      'tokenizer.json',
      'README.md',
      'onnx/decoder_model_merged.onnx',
      'onnx/decoder_model_merged_fp16.onnx',
    ];
    expect(selectFiles(siblings)).toEqual(['config.json', 'tokenizer.json', 'onnx/decoder_model_merged.onnx']);
    expect(selectFiles(siblings, 'fp16')).toEqual([
      'config.json',
      'tokenizer.json',
      'onnx/decoder_model_merged_fp16.onnx',
    ]);
    expect(() => selectFiles(['config.json', 'onnx/model.onnx'])).toThrow(/tokenizer.json missing/);
  });

  it('takes the pooling config and module list (docs/embeddings.md)', () => {
    const siblings = [
      'config.json',
      'tokenizer.json',
      'modules.json',
      '1_Pooling/config.json',
      'onnx/model.onnx',
      'pytorch_model.bin',
    ];
    expect(selectFiles(siblings)).toEqual([
      'config.json',
      'tokenizer.json',
      '1_Pooling/config.json',
      'modules.json',
      'onnx/model.onnx',
    ]);
    expect(yamlEntry('minilm', 'models/minilm', 'fp32', true)).toBe(
      '- id: minilm\n  provider: onnx\n  task: embeddings\n  path: models/minilm',
    );
  });
});
