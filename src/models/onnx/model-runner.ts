import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelLoadError } from './errors';
import { analyzeGraph, LAST_POSITION_ONLY, type GraphAnalysis } from './graph-edit';
import { INV_TEMPERATURE_INPUT, inspectGraph, WANT_ARGMAX_INPUT, WANT_PROBS_INPUT, type GraphIo } from './graph-io';
import type { ModelConfig } from './model-config';
import type { ModelFolder } from './model-folder';
import { argmax } from './sampler';
import { createSession, type EffectiveDevice, fileIdentity, type SessionOptions } from './session';
import { halfBits, halfRowToFloat, indexTensor, kvArray, kvTensor } from './tensors';

/** One forward pass over a left-padded batch. */
export interface ForwardArgs {
  /** Row-major [batch, seqLen] token ids; padding slots hold any valid id. */
  ids: ArrayLike<number>;
  batch: number;
  seqLen: number;
  /** Per row: leading padding columns over the whole mask (past + current). */
  pads: readonly number[];
  /** Present tensors of the previous pass, or null for an empty past. */
  past: ort.Tensor[] | null;
  pastLength: number;
  /**
   * 'argmax' fetches only the next greedy token per row when the graph offers it; 'probs' the
   * sampling probabilities at `invTemperatures` (plus the argmax when a row's is 0, greedy).
   */
  want: 'argmax' | 'probs' | 'logits';
  /** Per row, 1 / temperature for 'probs' (0: a greedy row). */
  invTemperatures?: readonly number[];
  /** With 'probs': fetch the logits too. */
  withLogits?: boolean;
  /** Preallocated present tensors to write into (same order as the past), instead of new ones. */
  presentsInto?: ort.Tensor[];
}

/**
 * What a pass fetched, per row and for its last position: the greedy next token, the sampling
 * probabilities, or the logits (which the caller may modify). Float rows live in one reused
 * buffer: they are valid until the next forward pass.
 */
export interface ForwardResult {
  presents: ort.Tensor[];
  argmax?: number[];
  probs?: Float32Array[];
  logits?: Float32Array[];
}

export interface RunnerOptions extends SessionOptions {
  /** Apply the load-time graph edit (last-position logits, argmax output). Default true. */
  optimizeGraph?: boolean;
  /**
   * Let onnxruntime memory-map inline weights from the graph file instead of copying them
   * (graph-edit.ts, mapInlineWeights). Default true.
   */
  mapWeights?: boolean;
}

/** An ONNX decoder session plus the bookkeeping to feed it batches with a KV cache. */
export class ModelRunner {
  /** Reused for logits or probabilities: [batch, 1, vocab] floats, no allocation per step. */
  private readonly floatBuffers = [new Float32Array(0), new Float32Array(0)];
  /** Inline weights onnxruntime maps from the graph file instead of copying (0: none). */
  mappedWeights = 0;

  private constructor(
    readonly session: ort.InferenceSession,
    readonly io: GraphIo,
    readonly config: ModelConfig,
    readonly device: EffectiveDevice,
    /** Graph edits that were applied and validated. */
    readonly graphChanges: string[],
    /** Batch rows change each other's results (dynamic quantization): never batch sequences. */
    readonly rowsInteract: boolean,
    /** Attention derives positions from lengths (GroupQueryAttention): rows must not be left-padded. */
    readonly noPadding: boolean,
  ) {}

  static async load(folder: ModelFolder, config: ModelConfig, opts: RunnerOptions): Promise<ModelRunner> {
    const file = folder.onnxFile;
    const identity = fileIdentity(file);
    const { rowsInteract, noPadding, edited, externalFiles, mappedWeights } = analyze(
      file,
      opts.optimizeGraph !== false,
      opts.mapWeights !== false,
    );
    const missing = externalFiles.filter((f) => !existsSync(join(dirname(file), f)));
    if (missing.length) {
      throw new ModelLoadError(
        file,
        `external data file${missing.length > 1 ? 's' : ''} missing: ${missing.join(', ')} (present: ${
          folder.dataFiles.map((f) => basename(f)).join(', ') || 'none'
        })`,
      );
    }
    if (edited) {
      // The edited graph is passed as bytes: its external weights are found through the folder option.
      const external = externalFiles.length || mappedWeights;
      const bytesOpts = { ...opts, externalDataFolder: external ? dirname(file) : undefined };
      const created = await createSession(edited.bytes, file, bytesOpts).catch((err: unknown) => {
        // Mapping is only a memory saving: a runtime refusing it must not take the model down.
        if (!mappedWeights) throw err;
        opts.logger?.warn(`${file}: ${(err as Error).message}; loading the graph as exported`);
        return null;
      });
      if (created && mappedWeights && fileIdentity(file) !== identity) {
        // Offsets were taken from the file as read: a file replaced meanwhile maps other bytes.
        await created.session.release();
        throw new ModelLoadError(file, 'the graph file changed while loading; load it again');
      }
      if (created) {
        const { session, device } = created;
        const runner = await ModelRunner.wrap(session, folder, config, device, edited.changes, rowsInteract, noPadding);
        runner.mappedWeights = mappedWeights;
        if (await runner.selfCheck()) return runner;
        await session.release();
        opts.logger?.warn(`${file}: graph edit failed its check; using the graph as exported`);
      }
    }
    const { session, device } = await createSession(file, file, opts);
    return ModelRunner.wrap(session, folder, config, device, [], rowsInteract, noPadding);
  }

  /** Validates the graph's interface; a graph that does not fit is released, not leaked. */
  private static async wrap(
    session: ort.InferenceSession,
    folder: ModelFolder,
    config: ModelConfig,
    device: EffectiveDevice,
    changes: string[],
    rowsInteract: boolean,
    noPadding: boolean,
  ): Promise<ModelRunner> {
    try {
      const io = inspectGraph(session, config, folder.onnxFile, folder.genai?.names);
      return new ModelRunner(session, io, config, device, changes, rowsInteract, noPadding);
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  async forward(args: ForwardArgs): Promise<ForwardResult> {
    const { batch, seqLen, pads, pastLength } = args;
    const io = this.io;
    const total = pastLength + seqLen;
    // Row r: `pad` zeros then ones (left padding); written with fill(), no per-element BigInts.
    const mask = io.maskType === 'int32' ? new Int32Array(batch * total) : new BigInt64Array(batch * total);
    const positions = new Array<number>(batch * seqLen);
    for (let r = 0; r < batch; r++) {
      const pad = pads[r];
      if (mask instanceof Int32Array) mask.fill(1, r * total + pad, (r + 1) * total);
      else mask.fill(1n, r * total + pad, (r + 1) * total);
      // cumsum(mask) - 1 for real tokens; padding slots get 1 as transformers.js does.
      for (let s = 0; s < seqLen; s++) {
        const c = pastLength + s;
        positions[r * seqLen + s] = c < pad ? 1 : c - pad;
      }
    }
    const names = io.names;
    const feeds: Record<string, ort.Tensor> = {
      [names.inputIds]: indexTensor(io.inputIdsType, args.ids, [batch, seqLen]),
      [names.attentionMask]:
        mask instanceof Int32Array
          ? new ort.Tensor('int32', mask, [batch, total])
          : new ort.Tensor('int64', mask, [batch, total]),
    };
    if (io.positionIdsType) feeds[names.positionIds] = indexTensor(io.positionIdsType, positions, [batch, seqLen]);
    if (io.hasUseCacheBranch)
      feeds.use_cache_branch = new ort.Tensor('bool', new Uint8Array([pastLength > 0 ? 1 : 0]), [1]);
    const past = args.past ?? this.emptyPast(batch);
    for (let i = 0; i < io.pastNames.length; i++) feeds[io.pastNames[i]] = past[i];

    // What this pass fetches: the argmax alone (greedy rows), sampling probabilities (plus the
    // argmax for greedy rows among them), or the logits.
    const probsName = args.want === 'probs' ? io.probsName : null;
    const argmaxName =
      args.want === 'argmax' || (probsName && args.invTemperatures?.some((t) => t === 0)) ? io.argmaxName : null;
    if (io.probsName) {
      const inv = new Float32Array(batch);
      for (let r = 0; r < batch; r++) inv[r] = (probsName && args.invTemperatures?.[r]) || 1; // unused rows: any value
      feeds[INV_TEMPERATURE_INPUT] = new ort.Tensor('float32', inv, [batch, 1, 1]);
      // The graph computes only what this pass fetches (graph-edit.ts, gated).
      feeds[WANT_ARGMAX_INPUT] = new ort.Tensor('bool', new Uint8Array([argmaxName ? 1 : 0]), [1]);
      feeds[WANT_PROBS_INPUT] = new ort.Tensor('bool', new Uint8Array([probsName ? 1 : 0]), [1]);
    }
    const mainName = probsName ?? (args.want === 'argmax' && argmaxName ? argmaxName : names.logits);
    const fetches: Record<string, ort.Tensor | null> = { [mainName]: null };
    if (argmaxName) fetches[argmaxName] = null;
    const presentsInto = args.presentsInto;
    io.presentNames.forEach((n, i) => (fetches[n] = presentsInto?.[i] ?? null));
    // Float rows land in reused buffers: no 600 KB allocation per row and step.
    const floatsInto = mainName === argmaxName ? null : this.floatTarget(0, batch);
    if (floatsInto) fetches[mainName] = floatsInto;
    const logitsToo = probsName !== null && args.withLogits === true;
    if (logitsToo) fetches[names.logits] = this.floatTarget(1, batch);
    const out = await this.session.run(feeds, fetches);
    const presents = presentsInto ?? io.presentNames.map((n) => out[n] as ort.Tensor);
    const argmax = argmaxName ? lastPositionArgmax(out[argmaxName] as ort.Tensor, batch) : undefined;
    if (mainName === argmaxName) return { presents, argmax };
    const rows = lastPositionRows(floatsInto ?? (out[mainName] as ort.Tensor), batch);
    if (!probsName) return { presents, logits: rows };
    const logits = logitsToo
      ? lastPositionRows((fetches[names.logits] ?? out[names.logits]) as ort.Tensor, batch)
      : undefined;
    return { presents, probs: rows, argmax, logits };
  }

  /**
   * Preallocated [batch, 1, vocab] float output number `slot` (0: the main one, 1: logits beside
   * probabilities) when its shape is known in advance (edited graph, fixed vocabulary).
   */
  private floatTarget(slot: 0 | 1, batch: number): ort.Tensor | null {
    const vocab = this.io.logitsVocab;
    if (!vocab || this.io.logitsType !== 'float32' || !this.graphChanges.includes(LAST_POSITION_ONLY)) return null;
    if (this.floatBuffers[slot].length < batch * vocab) this.floatBuffers[slot] = new Float32Array(batch * vocab);
    return new ort.Tensor('float32', this.floatBuffers[slot].subarray(0, batch * vocab), [batch, 1, vocab]);
  }

  emptyPast(batch: number): ort.Tensor[] {
    const dims = [batch, this.io.kvHeads, 0, this.io.headDim];
    return this.io.pastNames.map(() => kvTensor(this.io.kvType, kvArray(this.io.kvType, 0), dims));
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  /** Runs three tokens through an edited graph: shapes and argmax must agree with the logits. */
  private async selfCheck(): Promise<boolean> {
    try {
      const ids = [0, 1, 2].map((i) => i % this.vocabSize);
      const base = { ids, batch: 1, seqLen: 3, pads: [0], past: null, pastLength: 0 };
      const withLogits = await this.forward({ ...base, want: 'logits' });
      const row = withLogits.logits?.[0];
      if (row?.length !== this.vocabSize) return false;
      if (withLogits.presents[0].dims[2] !== 3) return false;
      if (this.io.probsName) {
        const probs = (await this.forward({ ...base, want: 'probs', invTemperatures: [1] })).probs?.[0];
        if (probs?.length !== this.vocabSize || Math.abs(probs.reduce((a, b) => a + b, 0) - 1) > 1e-3) return false;
      }
      if (!this.io.argmaxName) return true;
      const greedy = (await this.forward({ ...base, want: 'argmax' })).argmax?.[0];
      return greedy !== undefined && row[greedy] === row[argmax(row)];
    } catch {
      return false;
    }
  }
}

function analyze(file: string, edit: boolean, mapWeights: boolean): GraphAnalysis {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new ModelLoadError(file, `cannot read: ${(err as Error).message}`);
  }
  try {
    return analyzeGraph(bytes, edit, mapWeights ? basename(file) : undefined);
  } catch {
    // not an ONNX graph this parser understands: let onnxruntime judge the original
    return { rowsInteract: false, noPadding: false, edited: null, externalFiles: [], mappedWeights: 0 };
  }
}

/** The argmax output's last position per row. */
function lastPositionArgmax(t: ort.Tensor, batch: number): number[] {
  const data = t.data as BigInt64Array;
  const perRow = data.length / batch;
  return Array.from({ length: batch }, (_, r) => Number(data[r * perRow + perRow - 1]));
}

/** Per row, the last position of a [batch, positions, vocab] float tensor (float16 widened). */
function lastPositionRows(t: ort.Tensor, batch: number): Float32Array[] {
  const [, positions, vocab] = t.dims;
  const rows: Float32Array[] = [];
  for (let r = 0; r < batch; r++) {
    const offset = (r * positions + positions - 1) * vocab;
    rows.push(
      t.type === 'float16'
        ? halfRowToFloat(halfBits(t.data), offset, vocab)
        : (t.data as Float32Array).subarray(offset, offset + vocab),
    );
  }
  return rows;
}
