import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { buildRealTokenizerModel, type RealTokenizerName } from '../../src/model-tools/real-tokenizer-model';
import { ModelTokenizer } from '../../src/models/onnx/tokenizer';
import { createKey } from '../limits/books';
import { LLAMA3_1_TOOL_TEMPLATE } from './llama-tool-template';
import { writeModelsYaml } from './model-fixtures';
import { makeTempDir } from './temp-dir';
import { call, startTestApp, type TestApp } from './test-app';

/** The model ids the local-API specs ask for. */
export const QWEN = 'qwen-local';
export const LLAMA = 'llama-local';

/**
 * Tiny random-weight graphs with the real Qwen3 / Llama 3.1 tokenizers and chat templates
 * (1 layer, hidden 64, tied embeddings: ~1 s to build, a few ms per step over the 150k
 * vocabulary). The Qwen3 one has small weights (weightScale 0.6), which makes its greedy output
 * repeat tokens: the penalty specs need that. The Llama 3.1 one gets a template that renders
 * tools (llama-tool-template.ts). Built once per test file, removed after it.
 */
const built = new Map<RealTokenizerName, Promise<string>>();
export function localModelDir(tokenizer: 'qwen3' | 'llama3_1'): Promise<string> {
  let p = built.get(tokenizer);
  if (!p) {
    const dir = makeTempDir(`local-${tokenizer}`);
    p = buildRealTokenizerModel({
      outDir: dir,
      tokenizer,
      layers: 1,
      hidden: 64,
      heads: 4,
      kvHeads: 2,
      tieEmbeddings: true,
      weightScale: tokenizer === 'qwen3' ? 0.6 : 1.6,
      seed: 3,
      ...(tokenizer === 'llama3_1' ? { chatTemplate: LLAMA3_1_TOOL_TEMPLATE } : {}),
    }).then(() => dir);
    built.set(tokenizer, p);
  }
  return p;
}

/** The tokenizer of a fixture model folder (to name token ids in `logit_bias`, decode ids). */
export function tokenizerOf(dir: string): ModelTokenizer {
  const read = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
  return new ModelTokenizer(read('tokenizer.json'), read('tokenizer_config.json'));
}

/** What `/v1/usage` says this key spent on one model. */
export interface KeyUsage {
  used: number;
  reserved: number;
  prompt: number;
  completion: number;
  requests: number;
}

/**
 * The app serving the two fixture models (Qwen3: `hermes` detected from its template; Llama 3.1:
 * `tool_parser: llama3_json`, since its template has no marker to detect), with the
 * completion cache off (identical requests must each run the engine) and a key of its own.
 */
export class LocalApi {
  private constructor(
    readonly app: TestApp,
    readonly key: string,
    readonly client: OpenAI,
    readonly qwenDir: string,
  ) {}

  static async start(opts: { llama?: boolean } = {}): Promise<LocalApi> {
    const qwenDir = await localModelDir('qwen3');
    let yaml = `default_model: ${QWEN}\nmodels:\n  - id: ${QWEN}\n    provider: onnx\n    path: ${qwenDir}\n    threads: 1\n`;
    if (opts.llama) {
      const llamaDir = await localModelDir('llama3_1');
      yaml += `  - id: ${LLAMA}\n    provider: onnx\n    path: ${llamaDir}\n    threads: 1\n    tool_parser: llama3_json\n`;
    }
    // Rollups flushed only on demand: /v1/usage must not miss a batch being written.
    const app = await startTestApp({
      MODELS_CONFIG: writeModelsYaml(yaml),
      CACHE_MODE: 'off',
      QUOTA_FLUSH_MS: '60000',
    });
    const { key } = await createKey(app, { label: 'local-api', rpm: 100_000 });
    const client = new OpenAI({ apiKey: key, baseURL: `${app.baseUrl}/v1`, maxRetries: 0, timeout: 120_000 });
    return new LocalApi(app, key, client, qwenDir);
  }

  close(): Promise<void> {
    return this.app.close();
  }

  /** POST with this key; status and parsed body (for what the SDK does not type: errors, n on completions). */
  post(path: string, body: unknown): Promise<{ status: number; body: any }> {
    return call(this.app.baseUrl, 'POST', path, { key: this.key, body });
  }

  async usage(model = QWEN): Promise<KeyUsage> {
    const res = await call(this.app.baseUrl, 'GET', '/v1/usage', { key: this.key });
    expect(res.status).toBe(200);
    const row = (res.body.by_model as Array<Record<string, number | string>>).find((m) => m.model === model);
    return {
      used: Number(res.body.used_tokens),
      reserved: Number(res.body.reserved_tokens),
      prompt: Number(row?.prompt_tokens ?? 0),
      completion: Number(row?.completion_tokens ?? 0),
      requests: Number(row?.requests ?? 0),
    };
  }

  /** Runs `fn`; /v1/usage must have grown by exactly the usage it returns (what the client was told). */
  async expectCharged(
    fn: () => Promise<{ prompt_tokens: number; completion_tokens: number }>,
    model = QWEN,
  ): Promise<void> {
    const before = await this.usage(model);
    const told = await fn();
    const after = await this.usage(model);
    expect({
      used: after.used - before.used,
      prompt: after.prompt - before.prompt,
      completion: after.completion - before.completion,
      reserved: after.reserved,
    }).toEqual({
      used: told.prompt_tokens + told.completion_tokens,
      prompt: told.prompt_tokens,
      completion: told.completion_tokens,
      reserved: 0,
    });
  }

  /** Runs `fn` (a refused request); nothing may be charged or left reserved. */
  async expectNothingCharged(fn: () => Promise<void>, model = QWEN): Promise<void> {
    const before = await this.usage(model);
    await fn();
    const after = await this.usage(model);
    expect({ ...after, requests: 0 }).toEqual({ ...before, requests: 0, reserved: 0 });
  }
}

/** The usage of several answers added up. */
export function sumUsage(xs: Array<{ usage?: { prompt_tokens: number; completion_tokens: number } | null }>): {
  prompt_tokens: number;
  completion_tokens: number;
} {
  return xs.reduce(
    (a, x) => ({
      prompt_tokens: a.prompt_tokens + x.usage!.prompt_tokens,
      completion_tokens: a.completion_tokens + x.usage!.completion_tokens,
    }),
    { prompt_tokens: 0, completion_tokens: 0 },
  );
}

/** Runs `count` tasks `size` at a time (the engine batches each group). */
export async function inGroups<T>(count: number, size: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let start = 0; start < count; start += size) {
    const group = Array.from({ length: Math.min(size, count - start) }, (_, k) => task(start + k));
    out.push(...(await Promise.all(group)));
  }
  return out;
}
