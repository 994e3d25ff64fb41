import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';

/** What one flusher wrote at shutdown: `written` things of kind `what` (e.g. 12 "inference_logs rows"). */
export interface FlushCount {
  what: string;
  written: number;
}

/** Items a buffer has dropped since start, by reason (e.g. "buffer_full"). */
export type DropCounts = Readonly<Record<string, number>>;

/** A write-behind as the registry drives it (common/lifecycle/write-behind.ts). */
export interface TrackedWriter {
  readonly what: string;
  readonly dropped: DropCounts;
  start(): void;
  stop(): void;
  close(): Promise<number>;
}

interface Flusher {
  what: string;
  flush: () => Promise<number | void>;
  dropped?: () => DropCounts;
}

/**
 * Buffers that must reach the database before exit (last-used times, inference logs) register
 * here; shutdown flushes them after the HTTP server has drained and before the pool closes.
 * Each flusher says how many things it wrote, for the one shutdown line (docs/observability.md),
 * and may say what it dropped, which the metrics read at scrape time (common/ knows no metrics).
 */
@Injectable()
export class FlushRegistry implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly flushers: Flusher[] = [];
  private readonly writers: TrackedWriter[] = [];
  private started = false;

  /**
   * A write-behind's whole lifecycle: its interval runs from application start to module
   * destroy, and its one shutdown flush (close) is ours, so owners need no hooks of their own.
   */
  track(writer: TrackedWriter): void {
    this.writers.push(writer);
    this.register(
      writer.what,
      () => writer.close(),
      () => writer.dropped,
    );
    if (this.started) writer.start();
  }

  onApplicationBootstrap(): void {
    this.started = true;
    for (const w of this.writers) w.start();
  }

  onModuleDestroy(): void {
    for (const w of this.writers) w.stop();
  }

  /** `what` names the unit the flusher counts, e.g. "inference_logs rows". */
  register(what: string, flush: () => Promise<number | void>, dropped?: () => DropCounts): void {
    this.flushers.push({ what, flush, dropped });
  }

  async flushAll(): Promise<FlushCount[]> {
    return Promise.all(this.flushers.map(async (f) => ({ what: f.what, written: (await f.flush()) ?? 0 })));
  }

  /** Every buffer's drops so far: one entry per buffer and reason. */
  dropCounts(): { what: string; reason: string; total: number }[] {
    return this.flushers.flatMap((f) =>
      Object.entries(f.dropped?.() ?? {}).map(([reason, total]) => ({ what: f.what, reason, total })),
    );
  }
}

/** "shutdown: flushed 12 inference_logs rows, 3 quota ledgers, 0 usage rollups, 2 last_used_at". */
export function shutdownSummary(counts: FlushCount[]): string {
  return `shutdown: flushed ${counts.map((c) => `${c.written} ${c.what}`).join(', ')}`;
}
