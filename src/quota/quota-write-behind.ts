import type { DropCounts } from '../common/lifecycle/flush.registry';
import { MergingBuffer } from '../common/lifecycle/merging-buffer';
import { WriteBehind } from '../common/lifecycle/write-behind';
import { type LedgerRef, refKey } from './quota-ledger.types';
import { type QuotaRepository, type UsedDelta } from './quota.repository';

/** Past this many key-periods waiting (database down for long), the oldest are dropped. */
const MAX_PENDING = 100_000;

/**
 * Settled usage waiting to be added to quota_usage: one upsert per interval and at shutdown,
 * never a write per request. Seeding a ledger entry takes the same lock as a flush, so
 * "database value + pending" is never read half-way through a flush.
 */
export class QuotaWriteBehind {
  private readonly writes: WriteBehind<UsedDelta, MergingBuffer<UsedDelta>>;

  constructor(repo: QuotaRepository, opts: { intervalMs: number; onTick?: () => void }) {
    // Merged in place: `a` is the buffer's own entry (add() makes a fresh one), once per request.
    const buffer = new MergingBuffer<UsedDelta>(MAX_PENDING, refKey, (a, b) => {
      a.used += b.used;
      return a;
    });
    this.writes = new WriteBehind(buffer, {
      what: 'quota ledgers',
      logContext: 'QuotaWriteBehind',
      intervalMs: opts.intervalMs,
      onTick: opts.onTick,
      write: (batch) => repo.addUsed(batch),
    });
  }

  add(ref: LedgerRef, used: number): void {
    if (used <= 0) return;
    this.writes.add({ keyId: ref.keyId, periodStart: ref.periodStart, used });
  }

  pendingFor(ref: LedgerRef): number {
    return this.writes.pending.get(refKey(ref))?.used ?? 0;
  }

  /** Entries dropped since start, by reason (FlushRegistry hands them to the metrics). */
  get dropped(): DropCounts {
    return this.writes.dropped;
  }

  get size(): number {
    return this.writes.pending.size;
  }

  /** Runs `fn` with no flush in progress. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.writes.exclusive(fn);
  }

  start(): void {
    this.writes.start();
  }

  stop(): void {
    this.writes.stop();
  }

  /** Resolves to the number of ledger rows (key and period) written. */
  flush(): Promise<number> {
    return this.writes.flush();
  }

  /** The one shutdown flush (FlushRegistry). */
  close(): Promise<number> {
    return this.writes.close();
  }
}
