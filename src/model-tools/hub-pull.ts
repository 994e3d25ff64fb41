import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VARIANT_SUFFIXES } from '../models/onnx/model-folder';

/**
 * Downloads an ONNX model folder (Optimum / onnx-community layout) from a Hugging Face hub:
 * the JSON/tokenizer files plus one onnx/model*.onnx variant and its external-data files.
 */
export interface PullOptions {
  /** "owner/name". */
  repo: string;
  revision?: string;
  /** fp32 (default), fp16, q8 / quantized, int8, uint8, q4, q4f16, or a raw file suffix. */
  dtype?: string;
  /** Older name of `dtype`. */
  variant?: string;
  /** Default models/<name>, name = the repo's last segment, lower-cased. */
  outDir?: string;
  /** Default HF_ENDPOINT or https://huggingface.co. */
  endpoint?: string;
  /** Default HF_TOKEN. */
  token?: string;
  log?: (line: string) => void;
}

export interface PullResult {
  name: string;
  outDir: string;
  files: Array<{ file: string; bytes: number }>;
  /** The models.yaml entry to add. */
  yamlEntry: string;
}

export class HubError extends Error {}

const CONFIG_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  // sentence-transformers encoders: pooling and module list (docs/embeddings.md)
  '1_Pooling/config.json',
  'modules.json',
  'config_sentence_transformers.json',
];
const REQUIRED = ['config.json', 'tokenizer.json'];

/** Variant name → file-name suffix: the engine's own table (what it can load), as transformers.js names them. */
const VARIANT_SUFFIX = VARIANT_SUFFIXES;

const ONNX_RE = /^onnx\/(model|decoder_model_merged)(_[a-z0-9]+)?\.onnx$/;

function variantOf(file: string): string {
  const suffix = ONNX_RE.exec(file)?.[2] ?? '';
  if (!suffix) return 'fp32';
  return Object.entries(VARIANT_SUFFIX).find(([, s]) => s === suffix)?.[0] ?? suffix.slice(1);
}

const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

function httpError(status: number, what: string, repo: string, revision: string, token?: string): HubError {
  if (status === 401 || status === 403) {
    return new HubError(
      `${what}: ${status} ${status === 401 ? 'unauthorized' : 'forbidden'} — ${token ? 'HF_TOKEN was refused' : 'set HF_TOKEN'} ` +
        `(the repository "${repo}" may be private or gated; accept its terms on the hub first)`,
    );
  }
  if (status === 404)
    return new HubError(`${what}: not found — check the repository id "${repo}" and revision "${revision}"`);
  return new HubError(`${what}: HTTP ${status}`);
}

/** Picks the files to download from the repository listing. */
export function selectFiles(siblings: string[], dtype = 'fp32'): string[] {
  const onnx = siblings.filter((f) => ONNX_RE.test(f));
  const suffix = VARIANT_SUFFIX[dtype] ?? `_${dtype}`;
  const model =
    onnx.find((f) => f === `onnx/model${suffix}.onnx`) ??
    onnx.find((f) => f === `onnx/decoder_model_merged${suffix}.onnx`);
  if (!model) {
    const available = [...new Set(onnx.map(variantOf))];
    throw new HubError(
      available.length
        ? `dtype "${dtype}" not found; available: ${available.join(', ')}`
        : 'no onnx/model*.onnx in this repository (is it an ONNX export?)',
    );
  }
  for (const f of REQUIRED) if (!siblings.includes(f)) throw new HubError(`${f} missing from the repository`);
  // External weights of this graph only: model_q4.onnx_data, model_q4.onnx_data_1, ...
  const data = siblings.filter(
    (f) => f === `${model}_data` || (/^_data_\d+$/.test(f.slice(model.length)) && f.startsWith(model)),
  );
  return [...CONFIG_FILES.filter((f) => siblings.includes(f)), model, ...data];
}

/** fetch with network failures turned into a message naming the host and the cause. */
async function hubFetch(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new HubError(
      `cannot reach ${new URL(url).origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
    );
  }
}

/** `embeddings`: a sentence encoder (it ships 1_Pooling/config.json or modules.json), served on /v1/embeddings. */
export function yamlEntry(name: string, path: string, dtype = 'fp32', embeddings = false): string {
  return (
    `- id: ${name}\n  provider: onnx\n` +
    (embeddings ? '  task: embeddings\n' : '') +
    `  path: ${path}` +
    (dtype === 'fp32' ? '' : `\n  dtype: ${dtype}`)
  );
}

export async function pullModel(opts: PullOptions): Promise<PullResult> {
  const endpoint = (opts.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const token = opts.token ?? process.env.HF_TOKEN;
  const revision = opts.revision ?? 'main';
  const log = opts.log ?? (() => {});
  const { repo } = opts;
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) throw new HubError(`repository id must look like "owner/name", got "${repo}"`);
  const name = basename(repo).toLowerCase();
  const outRel = opts.outDir ?? join('models', name);
  const outDir = resolve(outRel);
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};

  const listUrl = `${endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
  const res = await hubFetch(listUrl, { headers });
  if (!res.ok) throw httpError(res.status, `listing ${repo}@${revision}`, repo, revision, token);
  const info = (await res.json()) as { siblings?: Array<{ rfilename: string; size?: number }> };
  const siblings = info.siblings ?? [];
  const sizes = new Map(siblings.map((s) => [s.rfilename, s.size]));
  const files = selectFiles(
    siblings.map((s) => s.rfilename),
    opts.dtype ?? opts.variant,
  );

  const done: PullResult['files'] = [];
  for (const file of files) {
    const dest = join(outDir, file);
    const expected = sizes.get(file);
    const existing = await stat(dest).catch(() => undefined);
    if (existing && expected !== undefined && existing.size === expected) {
      log(`  ${file} (already there)`);
      done.push({ file, bytes: existing.size });
      continue;
    }
    const bytes = await download(
      `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${encodePath(file)}`,
      dest,
      headers,
      expected,
      (status) => httpError(status, `downloading ${file}`, repo, revision, token),
    );
    log(`  ${file} (${bytes} bytes)`);
    done.push({ file, bytes });
  }
  const encoder = files.includes('1_Pooling/config.json') || files.includes('modules.json');
  return { name, outDir, files: done, yamlEntry: yamlEntry(name, outRel, opts.dtype ?? opts.variant, encoder) };
}

/** Streams a URL to `dest` through a temporary file; follows redirects; checks the byte count. */
async function download(
  url: string,
  dest: string,
  headers: Record<string, string>,
  expected: number | undefined,
  onError: (status: number) => Error,
): Promise<number> {
  // fetch follows redirects and drops the Authorization header when one leaves the origin
  // (the hub redirects large files to a CDN with signed URLs).
  const res = await hubFetch(url, { headers, redirect: 'follow' });
  if (!res.ok || !res.body) throw onError(res.status);
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.part-${process.pid}`;
  try {
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(tmp));
    const { size } = await stat(tmp);
    const length = res.headers.get('content-encoding') ? null : res.headers.get('content-length');
    if (length !== null && Number(length) !== size)
      throw new HubError(`${dest}: got ${size} bytes, server announced ${length}`);
    if (expected !== undefined && expected !== size)
      throw new HubError(`${dest}: got ${size} bytes, listing says ${expected}`);
    await rename(tmp, dest);
    return size;
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
