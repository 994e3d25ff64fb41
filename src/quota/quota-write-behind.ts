import { Logger } from '@nestjs/common';
import { LedgerRef, refKey } from './quota-ledger.types';
import { QuotaRepository, UsedDelta } from './quota.repository';

/**
 * Settled usage waiting to be added to quota_usage: one upsert per interval and at shutdown,
 * never a write per request. Seeding a ledger entry takes the same lock as a flush, so
 * "database value + pending" is never read half-way through a flush.
 */
export class QuotaWriteBehind {
  private readonly logger = new Logger('QuotaWriteBehind');
  private pending = new Map<string, UsedDelta>();
  private lock: Promise<unknown> = Promise.resolve();

  constructor(private readonly repo: QuotaRepository) {}

  add(ref: LedgerRef, used: number): void {
    if (used <= 0) return;
    const k = refKey(ref);
    const e = this.pending.get(k);
    if (e) e.used += used;
    else this.pending.set(k, { keyId: ref.keyId, periodStart: ref.periodStart, used });
  }

  pendingFor(ref: LedgerRef): number {
    return this.pending.get(refKey(ref))?.used ?? 0;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Runs `fn` with no flush in progress. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** Resolves to the number of ledger rows (key and period) written. */
  flush(): Promise<number> {
    return this.exclusive(async () => {
      if (!this.pending.size) return 0;
      const batch = [...this.pending.values()];
      this.pending = new Map();
      try {
        await this.repo.addUsed(batch);
        return batch.length;
      } catch (err) {
        for (const d of batch) this.add(d, d.used);
        this.logger.warn(`quota usage not written yet (${batch.length} rows kept for the next flush): ${(err as Error).message}`);
        return 0;
      }
    });
  }
}
