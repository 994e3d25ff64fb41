import * as ort from 'onnxruntime-node';
import { halfBits, halfRowToFloat } from '../models/onnx/tensors';

/**
 * A minimal onnxruntime loop over the Optimum decoder interface, for the tools' own checks
 * (tests, quantization report) — not the server's engine.
 */
export type Past = Map<string, ort.Tensor>;

export interface ForwardResult {
  /** [B, S, V] row-major. */
  logits: Float32Array;
  dims: number[];
  present: Past;
}

export class OrtDecoder {
  private constructor(
    readonly session: ort.InferenceSession,
    readonly layers: number,
    readonly kvHeads: number,
    readonly headDim: number,
    readonly hasPositionIds: boolean,
    /** float16 graphs (fp16, q4f16) take and return half KV caches. */
    readonly kvType: 'float32' | 'float16' = 'float32',
  ) {}

  static async load(modelPath: string, threads = 1): Promise<OrtDecoder> {
    // No onnxruntime telemetry (and no /tmp/mat-debug-<pid>.log): see src/models/onnx/ort-telemetry.ts.
    process.env.ORT_DISABLE_TELEMETRY ??= '1';
    const session = await ort.InferenceSession.create(modelPath, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    const pasts = session.inputMetadata.filter((m) => m.name.startsWith('past_key_values.'));
    const first = pasts[0];
    if (!first || !first.isTensor) throw new Error(`${modelPath}: no past_key_values inputs`);
    const shape = first.shape;
    return new OrtDecoder(
      session,
      pasts.length / 2,
      Number(shape[1]),
      Number(shape[3]),
      session.inputNames.includes('position_ids'),
      first.type === 'float16' ? 'float16' : 'float32',
    );
  }

  emptyPast(batch: number): Past {
    const past: Past = new Map();
    for (let i = 0; i < this.layers; i++) {
      for (const kind of ['key', 'value']) {
        past.set(
          `past_key_values.${i}.${kind}`,
          this.kvType === 'float16'
            ? new ort.Tensor('float16', new Uint16Array(0), [batch, this.kvHeads, 0, this.headDim])
            : new ort.Tensor('float32', new Float32Array(0), [batch, this.kvHeads, 0, this.headDim]),
        );
      }
    }
    return past;
  }

  /**
   * One forward pass. `mask` covers past + new tokens; positions default to cumsum(mask)-1 with
   * padding set to 1, as transformers.js computes them.
   */
  async forward(inputIds: number[][], mask: number[][], past?: Past): Promise<ForwardResult> {
    const B = inputIds.length;
    const S = inputIds[0].length;
    const T = mask[0].length;
    const i64 = (rows: number[][]) => BigInt64Array.from(rows.flat().map(BigInt));
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', i64(inputIds), [B, S]),
      attention_mask: new ort.Tensor('int64', i64(mask), [B, T]),
    };
    if (this.hasPositionIds) {
      const pos = mask.map((row) => {
        let run = 0;
        return row.map((m) => (m === 1 ? run++ : 1)).slice(T - S);
      });
      feeds.position_ids = new ort.Tensor('int64', i64(pos), [B, S]);
    }
    for (const [name, t] of past ?? this.emptyPast(B)) feeds[name] = t;
    const out = await this.session.run(feeds);
    const present: Past = new Map();
    for (const [name, t] of Object.entries(out)) {
      if (name.startsWith('present.')) present.set(name.replace('present.', 'past_key_values.'), t);
    }
    const logits =
      out.logits.type === 'float16'
        ? halfRowToFloat(halfBits(out.logits.data), 0, out.logits.data.length)
        : out.logits.data;
    return { logits: logits as Float32Array, dims: out.logits.dims.map(Number), present };
  }

  /** Greedy decoding of one prompt; with `useCache` false every step recomputes everything. */
  async greedy(prompt: number[], maxNew: number, useCache = true, stopIds: number[] = []): Promise<number[]> {
    const tokens = [...prompt];
    let past: Past | undefined;
    let next = prompt;
    const out: number[] = [];
    for (let step = 0; step < maxNew; step++) {
      const ids = useCache ? next : tokens;
      const r = await this.forward([ids], [tokens.map(() => 1)], useCache ? past : undefined);
      const V = r.dims[2];
      const tok = argmax(r.logits, (ids.length - 1) * V, V);
      out.push(tok);
      if (stopIds.includes(tok)) break;
      tokens.push(tok);
      next = [tok];
      past = r.present;
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

export function argmax(data: Float32Array, offset: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (data[offset + i] > data[offset + best]) best = i;
  return best;
}
