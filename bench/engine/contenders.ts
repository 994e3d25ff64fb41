import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { createOnnxProvider, type OnnxProvider } from '../../src/models/onnx';
import { readModelFolder } from '../../src/models/onnx/model-folder';
import { argmax } from '../../src/models/onnx/sampler';
import { ModelTokenizer } from '../../src/models/onnx/tokenizer';
import type { GenerationParams } from '../../src/models/provider.interface';
import { cpuMsSince, decodeRate } from './stats';

export interface SingleRun {
  /** Tokens/s after the first token. */
  decode: number;
  /** Tokens per CPU-second after the first token: work done, much less sensitive to other load. */
  decodeCpu: number;
  /** Tokens/s over the whole request, prefill included. */
  wall: number;
  ttftMs: number;
  tokens: number;
}

export interface ConcurrentRun {
  /** All tokens of all streams / wall time from submission to the last one done. */
  aggregate: number;
  /** The same per CPU-second. */
  aggregateCpu: number;
  ttftMs: number[];
  tokens: number;
}

export function tokenizerFor(dir: string): ModelTokenizer {
  const read = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
  return new ModelTokenizer(read('tokenizer.json'), read('tokenizer_config.json'));
}

/**
 * The floor to compare against: a minimal greedy loop on the graph as exported, timing only the
 * `session.run` calls (feeds built and argmax taken outside the timed region).
 */
export class BareLoop {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async open(dir: string, threads: number, spinWait = true): Promise<BareLoop> {
    const file = readModelFolder(dir).onnxFile;
    const session = await ort.InferenceSession.create(file, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      ...(spinWait ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
    });
    return new BareLoop(session);
  }

  /** Milliseconds per decode step in session.run, and decode steps per CPU-second of the whole loop. */
  async measure(promptIds: number[], steps: number): Promise<{ ms: number; cpuRate: number }> {
    const s = this.session;
    const pastNames = s.inputNames.filter((n) => n.startsWith('past_key_values.'));
    const meta = s.inputMetadata.find((m) => m.name === pastNames[0]) as unknown as { shape: Array<number | string> };
    const [heads, headDim] = [meta.shape[1] as number, meta.shape[3] as number];
    const hasPositions = s.inputNames.includes('position_ids');
    const i64 = (xs: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(xs.map(BigInt)), dims);
    let past: ort.Tensor[] = pastNames.map(
      () => new ort.Tensor('float32', new Float32Array(0), [1, heads, 0, headDim]),
    );
    let ids = promptIds;
    let timed = 0;
    let cpuFrom = process.cpuUsage();
    for (let step = 0; step <= steps; step++) {
      if (step === 1) cpuFrom = process.cpuUsage();
      const pastLength = step === 0 ? 0 : promptIds.length + step - 1;
      const feeds: Record<string, ort.Tensor> = {
        input_ids: i64(ids, [1, ids.length]),
        attention_mask: i64(new Array(pastLength + ids.length).fill(1), [1, pastLength + ids.length]),
      };
      if (hasPositions)
        feeds.position_ids = i64(
          ids.map((_, j) => pastLength + j),
          [1, ids.length],
        );
      pastNames.forEach((n, i) => (feeds[n] = past[i]));
      const t0 = performance.now();
      const out = await s.run(feeds);
      if (step > 0) timed += performance.now() - t0; // step 0 is the prefill
      past = pastNames.map((n) => out[n.replace('past_key_values', 'present')] as ort.Tensor);
      const logits = out.logits as ort.Tensor;
      const vocab = logits.dims[2];
      const data = logits.data as Float32Array;
      ids = [argmax(data.subarray(data.length - vocab))];
    }
    return { ms: timed / steps, cpuRate: (steps * 1000) / cpuMsSince(cpuFrom) };
  }

  close(): Promise<void> {
    return this.session.release();
  }
}

/** This engine, through the provider interface the server uses. */
export class Engine {
  private constructor(readonly provider: OnnxProvider) {}

  /** `spinWait` undefined: the provider's default. */
  static async open(dir: string, threads: number, spinWait?: boolean): Promise<Engine> {
    return new Engine(
      await createOnnxProvider({ id: 'bench', path: dir, threads, spinWait, maxBatchSize: 8, maxQueue: 64 }),
    );
  }

  async single(prompt: string, tokens: number): Promise<SingleRun> {
    const stamps: number[] = [];
    let ttftMs = NaN;
    let cpuFrom = process.cpuUsage();
    let cpuMs = 0;
    this.provider.setHooks({
      onToken: () => {
        stamps.push(performance.now());
        if (stamps.length === 1) cpuFrom = process.cpuUsage();
        else cpuMs = cpuMsSince(cpuFrom);
      },
      onFirstToken: (ms) => (ttftMs = ms),
    });
    const t0 = performance.now();
    const r = await this.provider.generate({ prompt, params: greedy(tokens) });
    const wallMs = performance.now() - t0;
    return {
      decode: decodeRate(stamps),
      decodeCpu: ((stamps.length - 1) * 1000) / cpuMs,
      wall: (r.usage.completionTokens * 1000) / wallMs,
      ttftMs,
      tokens: r.usage.completionTokens,
    };
  }

  async concurrent(prompts: string[], tokens: number): Promise<ConcurrentRun> {
    const ttftMs: number[] = [];
    this.provider.setHooks({ onFirstToken: (ms) => ttftMs.push(ms) });
    const t0 = performance.now();
    const cpuFrom = process.cpuUsage();
    const rs = await Promise.all(prompts.map((prompt) => this.provider.generate({ prompt, params: greedy(tokens) })));
    const wallMs = performance.now() - t0;
    const cpuMs = cpuMsSince(cpuFrom);
    const total = rs.reduce((n, r) => n + r.usage.completionTokens, 0);
    return { aggregate: (total * 1000) / wallMs, aggregateCpu: (total * 1000) / cpuMs, ttftMs, tokens: total };
  }

  close(): Promise<void> {
    return this.provider.close();
  }
}

/** transformers.js v4 greedy `generate` on the same folder and file. */
export class TransformersJs {
  private constructor(
    private readonly model: { generate(a: object): Promise<unknown>; dispose(): Promise<unknown> },
    private readonly Tensor: new (type: string, data: BigInt64Array, dims: number[]) => unknown,
  ) {}

  static async open(dir: string, threads: number): Promise<TransformersJs> {
    const t = await import('@huggingface/transformers');
    t.env.allowRemoteModels = false;
    t.env.allowLocalModels = true;
    t.env.localModelPath = dirname(dir);
    const model = await t.AutoModelForCausalLM.from_pretrained(basename(dir), {
      dtype: 'fp32',
      device: 'cpu',
      session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
    });
    return new TransformersJs(model as never, t.Tensor as never);
  }

  async single(promptIds: number[], tokens: number): Promise<SingleRun> {
    const stamps: number[] = [];
    let calls = 0;
    let cpuFrom = process.cpuUsage();
    let cpuMs = 0;
    // The first put() is the prompt; each later one is a generated token.
    const streamer = {
      put: () => {
        if (calls++ === 0) return;
        stamps.push(performance.now());
        if (stamps.length === 1) cpuFrom = process.cpuUsage();
        else cpuMs = cpuMsSince(cpuFrom);
      },
      end: () => undefined,
    };
    const t0 = performance.now();
    const ids = BigInt64Array.from(promptIds.map(BigInt));
    await this.model.generate({
      input_ids: new this.Tensor('int64', ids, [1, ids.length]),
      attention_mask: new this.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
      max_new_tokens: tokens,
      do_sample: false,
      streamer,
    });
    const wallMs = performance.now() - t0;
    return {
      decode: decodeRate(stamps),
      decodeCpu: ((stamps.length - 1) * 1000) / cpuMs,
      wall: (stamps.length * 1000) / wallMs,
      ttftMs: stamps[0] - t0,
      tokens: stamps.length,
    };
  }

  async close(): Promise<void> {
    await this.model.dispose();
  }
}

function greedy(maxTokens: number): GenerationParams {
  return { maxTokens, temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, stop: [] };
}
