import { ApiError } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-code';
import { callHook, type EngineHooks, type EngineStats } from './hooks';
import { KvBatch } from './kv-cache';
import type { ForwardArgs, ForwardResult, ModelRunner } from './model-runner';
import type { Sequence } from './sequence';

export interface SchedulerOptions {
  modelId: string;
  /** Sequences decoded together in one forward pass. */
  maxBatchSize: number;
  /** Sequences allowed to wait for a slot; beyond it submissions fail fast. */
  maxQueue: number;
  retryAfterSeconds: number;
}

interface Group {
  rows: Sequence[];
  kv: KvBatch;
}

/**
 * Continuous batching: every step first prefills the requests that arrived meanwhile (one
 * left-padded pass), merges their KV caches into the running batch, then runs one decode pass
 * for all rows. Graphs that derive positions themselves cannot be padded, and dynamically
 * quantized graphs let rows change each other's numbers: there every sequence decodes in its
 * own group (correct, but without the batching speed-up).
 */
export class BatchScheduler {
  hooks: EngineHooks = {};
  private readonly queue: Sequence[] = [];
  private groups: Group[] = [];
  private loop: Promise<void> | null = null;
  private closed = false;
  private lastBatchSize = 0;
  private readonly canPad: boolean;

  constructor(
    private readonly runner: ModelRunner,
    private readonly opts: SchedulerOptions,
  ) {
    // Padding needs explicit positions; rows must not change each other's numbers.
    this.canPad = runner.io.positionIdsType !== null && !runner.rowsInteract && !runner.noPadding;
  }

  /** Sequences running or waiting at most. */
  get capacity(): number {
    return this.opts.maxBatchSize + this.opts.maxQueue;
  }

  stats(): EngineStats {
    return { inflight: this.inflight, queued: this.queue.length, lastBatchSize: this.lastBatchSize };
  }

  /** Rows holding a batch slot; cancelled ones no longer count, though they leave at the next step. */
  get inflight(): number {
    let n = 0;
    for (const g of this.groups) for (const row of g.rows) if (row.active) n++;
    return n;
  }

  submit(seq: Sequence): void {
    const retry = { 'Retry-After': String(this.opts.retryAfterSeconds) };
    if (this.closed)
      throw new ApiError(ErrorCode.ModelUnavailable, `model "${this.opts.modelId}" is shutting down`, null, retry);
    if (this.inflight + this.queue.length >= this.opts.maxBatchSize + this.opts.maxQueue) {
      throw new ApiError(
        ErrorCode.ModelUnavailable,
        `model "${this.opts.modelId}" is at capacity; retry later`,
        null,
        retry,
      );
    }
    seq.onCancel = () => this.dequeue(seq);
    this.queue.push(seq);
    callHook(this.hooks.onQueueDepth, this.queue.length);
    this.kick();
  }

  /** Rejects queued work, stops running sequences, waits for the loop to settle. */
  async close(): Promise<void> {
    this.closed = true;
    const error = new ApiError(ErrorCode.ModelUnavailable, `model "${this.opts.modelId}" was unloaded`, null, {
      'Retry-After': String(this.opts.retryAfterSeconds),
    });
    for (const seq of this.queue.splice(0)) seq.fail(error);
    for (const group of this.groups) for (const row of group.rows) row.cancel(error);
    await this.loop;
  }

  private kick(): void {
    if (this.loop) return;
    this.loop = this.run().finally(() => {
      this.loop = null;
      if (this.queue.length && !this.closed) this.kick();
    });
  }

  private async run(): Promise<void> {
    // Yield once so requests submitted in the same tick share the first prefill.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      while (this.queue.length || this.groups.length) {
        this.dropFinished();
        await this.admit();
        for (const group of [...this.groups]) await this.decode(group);
      }
    } catch (err) {
      // A bug, not a model failure (those are caught per pass): fail everything, keep serving.
      const rows = [...this.groups.flatMap((g) => g.rows), ...this.queue.splice(0)];
      this.groups = [];
      this.failRows(rows, err);
    }
    this.lastBatchSize = 0;
  }

  private dequeue(seq: Sequence): void {
    const at = this.queue.indexOf(seq);
    if (at < 0) return;
    this.queue.splice(at, 1);
    if (seq.cancelReason) seq.fail(seq.cancelReason);
    callHook(this.hooks.onQueueDepth, this.queue.length);
  }

  /** Frees the rows of finished and cancelled sequences (one KV copy per group that shrank). */
  private dropFinished(): void {
    let changed = false;
    this.groups = this.groups.flatMap((group) => {
      const keep: number[] = [];
      group.rows.forEach((row, i) => {
        if (row.active) keep.push(i);
        else if (!row.finished) row.fail(row.cancelReason);
      });
      if (keep.length === group.rows.length) return [group];
      changed = true;
      if (keep.length === 0) return [];
      return [{ rows: keep.map((i) => group.rows[i]), kv: group.kv.select(keep) }];
    });
    if (changed) callHook(this.hooks.onInflight, this.inflight);
  }

  private async admit(): Promise<void> {
    const free = this.opts.maxBatchSize - this.inflight;
    if (free <= 0 || this.queue.length === 0 || this.closed) return;
    const joiners = this.queue.splice(0, free).filter((s) => s.active);
    callHook(this.hooks.onQueueDepth, this.queue.length);
    if (joiners.length === 0) return;
    const batches = this.canPad ? [joiners] : joiners.map((j) => [j]);
    for (const rows of batches) await this.prefill(rows);
    callHook(this.hooks.onInflight, this.inflight);
  }

  private async prefill(rows: Sequence[]): Promise<void> {
    // The n choices of one request compute their common prompt once (one "leader" row per
    // prefill key); its KV cache is then copied to every choice's row.
    const leaders: Sequence[] = [];
    const leaderOf: number[] = [];
    const byKey = new Map<object, number>();
    for (const row of rows) {
      const key = row.prefillKey;
      let at = key ? byKey.get(key) : undefined;
      if (at === undefined) {
        at = leaders.push(row) - 1;
        if (key) byKey.set(key, at);
      }
      leaderOf.push(at);
    }
    const seqLen = Math.max(...leaders.map((r) => r.promptIds.length));
    const pads = leaders.map((r) => seqLen - r.promptIds.length);
    const ids = new Array<number>(leaders.length * seqLen).fill(0);
    leaders.forEach((r, i) => r.promptIds.forEach((id, j) => (ids[i * seqLen + pads[i] + j] = id)));
    const shared = leaders.length < rows.length;
    let kv: KvBatch;
    try {
      // Rows sharing a prefill draw at one temperature: the leader's (n choices of one request).
      const inverse = rows.map((r) => r.probsInverseTemperature);
      const leaderInverse = leaders.map((r) => r.probsInverseTemperature ?? 0);
      let want = this.want(rows);
      if (want === 'probs' && rows.some((_, i) => inverse[i] !== leaderInverse[leaderOf[i]])) want = 'logits';
      const out = await this.runner.forward({
        ids,
        batch: leaders.length,
        seqLen,
        pads,
        past: null,
        pastLength: 0,
        want,
        invTemperatures: leaderInverse,
        withLogits: want === 'probs' && rows.some((r) => r.probsNeedLogits),
      });
      kv = new KvBatch(out.presents, leaders.length, seqLen, pads, this.runner.io.kvType);
      if (shared) kv = kv.select(leaderOf);
      const now = performance.now();
      rows.forEach((row, i) => {
        callHook(this.hooks.onFirstToken, now - row.enqueuedAt);
        const at = leaderOf[i];
        this.take(row, pick(row, out, at, shared));
      });
    } catch (err) {
      this.failRows(rows, err);
      return;
    }
    const alive = rows.flatMap((r, i) => (r.active ? [i] : []));
    if (alive.length === 0) return;
    if (alive.length < rows.length) kv = kv.select(alive);
    const joined = { rows: alive.map((i) => rows[i]), kv };
    const main = this.canPad ? this.groups[0] : undefined;
    if (main) this.groups[0] = { rows: [...main.rows, ...joined.rows], kv: main.kv.concat(joined.kv) };
    else this.groups.push(joined);
  }

  private async decode(group: Group): Promise<void> {
    const { rows, kv } = group;
    try {
      const targets = kv.presentTargets(1);
      const want = this.want(rows);
      const out = await this.runner.forward({
        ids: rows.map((r) => r.pendingToken!),
        batch: rows.length,
        seqLen: 1,
        pads: kv.pads,
        past: kv.tensors,
        pastLength: kv.pastLength,
        want,
        invTemperatures: rows.map((r) => r.probsInverseTemperature ?? 0),
        withLogits: want === 'probs' && rows.some((r) => r.probsNeedLogits),
        presentsInto: targets.tensors,
      });
      group.kv = kv.advance(out.presents, 1, targets);
      this.lastBatchSize = rows.length;
      callHook(this.hooks.onBatch, rows.length);
      rows.forEach((row, i) => this.take(row, pick(row, out, i, false)));
    } catch (err) {
      this.groups = this.groups.filter((g) => g !== group);
      this.failRows(rows, err);
    }
  }

  private take(row: Sequence, token: number): void {
    if (!row.active) return; // cancelled during the pass: dropped before the next one
    callHook(this.hooks.onToken);
    row.accept(token);
  }

  /** Greedy rows alone fetch the argmax; greedy and plain sampled rows, probabilities; else logits. */
  private want(rows: Sequence[]): ForwardArgs['want'] {
    if (!rows.some((r) => r.needsLogits)) return 'argmax';
    const io = this.runner.io;
    // Greedy rows among them take the argmax output, which comes with the probabilities.
    if (io.probsName && io.argmaxName && rows.every((r) => r.probsInverseTemperature !== null)) return 'probs';
    return 'logits';
  }

  private failRows(rows: Sequence[], err: unknown): void {
    const error = new ApiError(ErrorCode.InternalError, `inference failed: ${(err as Error)?.message ?? err}`);
    for (const row of rows) if (!row.finished) row.fail(error);
  }
}

/** Row `at`'s next token from whatever the pass fetched for it. */
function pick(row: Sequence, out: ForwardResult, at: number, shared: boolean): number {
  if (out.argmax && !row.needsLogits) return out.argmax[at];
  // choose() modifies its logits row: rows sharing one get their own copy (made only if used).
  const logits = () => (shared ? out.logits![at].slice() : out.logits![at]);
  return out.probs ? row.chooseFromProbs(out.probs[at], logits) : row.choose(logits());
}
