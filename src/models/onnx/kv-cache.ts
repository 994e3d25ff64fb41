import type * as ort from 'onnxruntime-node';
import type { KvType } from './graph-io';
import { kvArray, kvData, kvTensor } from './tensors';

export type KvData = Float32Array | Uint16Array;

/** Where the next pass writes its presents: views sized exactly, over reusable arrays. */
export interface PresentTargets {
  tensors: ort.Tensor[];
  backing: KvData[];
}

/**
 * The KV cache of a left-padded batch: one [batch, heads, pastLength, headDim] tensor per layer
 * key/value, plus each row's count of leading padding columns. Decode steps feed the previous
 * presents straight back (no copy); rows are only copied when the batch changes shape.
 *
 * Presents are written into two sets of arrays used in turn (ping-pong), with room to grow, so
 * a decode step allocates nothing: no per-step megabytes for the garbage collector.
 */
export class KvBatch {
  constructor(
    readonly tensors: ort.Tensor[],
    readonly batch: number,
    readonly pastLength: number,
    readonly pads: number[],
    private readonly kvType: KvType,
    /** Arrays under `tensors` when this class allocated them (free again after the next pass). */
    private readonly backing: KvData[] | null = null,
    /** Arrays no tensor uses any more: the next pass writes into them. */
    private readonly spare: KvData[] | null = null,
  ) {}

  /** Output tensors for a pass adding `seqLen` tokens, over spare arrays when they are big enough. */
  presentTargets(seqLen: number): PresentTargets {
    const past = this.pastLength + seqLen;
    const backing: KvData[] = [];
    const tensors = this.tensors.map((t, i) => {
      const [, heads, , headDim] = t.dims;
      const need = this.batch * heads * past * headDim;
      let array = this.spare?.[i];
      if (!array || array.length < need) {
        const room = past + Math.max(32, past >> 2); // grow ahead: reallocate every few dozen steps, not every step
        array = kvArray(this.kvType, this.batch * heads * room * headDim);
      }
      backing.push(array);
      return kvTensor(this.kvType, array.subarray(0, need), [this.batch, heads, past, headDim]);
    });
    return { tensors, backing };
  }

  /** After a forward pass of `seqLen` new tokens for every row. */
  advance(presents: ort.Tensor[], seqLen: number, targets?: PresentTargets): KvBatch {
    return new KvBatch(
      presents,
      this.batch,
      this.pastLength + seqLen,
      this.pads,
      this.kvType,
      targets?.backing ?? null,
      this.backing,
    );
  }

  /**
   * Appends the rows of `other`, right-aligning both sides to the longer past; the shorter side
   * gains padding columns (masked out, so each row still sees exactly its own tokens).
   */
  concat(other: KvBatch): KvBatch {
    const past = Math.max(this.pastLength, other.pastLength);
    const batch = this.batch + other.batch;
    const tensors = this.tensors.map((t, i) => {
      const [, heads, , headDim] = t.dims;
      const out = kvArray(this.kvType, batch * heads * past * headDim);
      copyRows(kvData(this.kvType, t), this.pastLength, 0, this.batch, out, past, 0, heads, headDim);
      const src = kvData(this.kvType, other.tensors[i]);
      copyRows(src, other.pastLength, 0, other.batch, out, past, this.batch, heads, headDim);
      return kvTensor(this.kvType, out, [batch, heads, past, headDim]);
    });
    const pads = [
      ...this.pads.map((p) => p + past - this.pastLength),
      ...other.pads.map((p) => p + past - other.pastLength),
    ];
    return new KvBatch(tensors, batch, past, pads, this.kvType);
  }

  /**
   * Keeps only `rows` (in that order) and drops leading columns that are padding for all of
   * them, so finished sequences stop costing memory and compute.
   */
  select(rows: readonly number[]): KvBatch {
    const trim = rows.length ? Math.min(...rows.map((r) => this.pads[r])) : 0;
    const past = this.pastLength - trim;
    const contiguous = rows.every((r, i) => r === rows[0] + i);
    if (trim === 0 && contiguous && rows.length === this.batch) return this;
    const tensors = this.tensors.map((t) => {
      const [, heads, , headDim] = t.dims;
      const src = kvData(this.kvType, t);
      const out = kvArray(this.kvType, rows.length * heads * past * headDim);
      rows.forEach((r, i) => {
        for (let h = 0; h < heads; h++) {
          const from = ((r * heads + h) * this.pastLength + trim) * headDim;
          out.set(src.subarray(from, from + past * headDim), (i * heads + h) * past * headDim);
        }
      });
      return kvTensor(this.kvType, out, [rows.length, heads, past, headDim]);
    });
    return new KvBatch(
      tensors,
      rows.length,
      past,
      rows.map((r) => this.pads[r] - trim),
      this.kvType,
    );
  }
}

/** Copies `count` rows of [heads, srcPast, headDim] into [heads, dstPast, headDim], right-aligned. */
function copyRows(
  src: KvData,
  srcPast: number,
  srcRow: number,
  count: number,
  dst: KvData,
  dstPast: number,
  dstRow: number,
  heads: number,
  headDim: number,
): void {
  if (srcPast === dstPast) {
    const size = heads * srcPast * headDim;
    dst.set(src.subarray(srcRow * size, (srcRow + count) * size), dstRow * size);
    return;
  }
  const shift = dstPast - srcPast;
  for (let r = 0; r < count; r++) {
    for (let h = 0; h < heads; h++) {
      const from = ((srcRow + r) * heads + h) * srcPast * headDim;
      const to = (((dstRow + r) * heads + h) * dstPast + shift) * headDim;
      dst.set(src.subarray(from, from + srcPast * headDim), to);
    }
  }
}
