import { LedgerRef, LedgerState, refKey, ReserveAsk, ReserveOutcome } from './quota-ledger.types';

/**
 * The single-replica ledger (no REDIS_URL). Entries are seeded once per key and period from
 * PostgreSQL (so a restart does not reset usage); after that every decision is synchronous,
 * hence atomic on Node's one thread.
 */
export class LocalQuotaLedger {
  private readonly entries = new Map<string, LedgerState & { periodStart: number }>();
  private readonly seeding = new Map<string, Promise<void>>();

  /** Seeds the entry once, however many requests ask at the same time. */
  async ensure(ref: LedgerRef, loadSeed: () => Promise<number>): Promise<void> {
    const k = refKey(ref);
    if (this.entries.has(k)) return;
    let p = this.seeding.get(k);
    if (!p) {
      p = loadSeed()
        .then((used) => {
          if (!this.entries.has(k)) this.entries.set(k, { used, reserved: 0, periodStart: ref.periodStart.getTime() });
        })
        .finally(() => this.seeding.delete(k));
      this.seeding.set(k, p);
    }
    await p;
  }

  /** Call after ensure(). */
  reserve(ref: LedgerRef, ask: ReserveAsk): ReserveOutcome {
    const e = this.entries.get(refKey(ref))!;
    let granted = ask.maxTokens;
    if (ask.quota !== null) {
      const left = ask.quota - e.used - e.reserved - ask.promptTokens;
      if (left < ask.minCompletion) return { state: 'refused', used: e.used, reserved: e.reserved };
      granted = Math.min(granted, left);
    }
    e.reserved += ask.promptTokens + granted;
    return { state: 'granted', granted, used: e.used, reserved: e.reserved };
  }

  settle(ref: LedgerRef, release: number, counted: number): void {
    const e = this.entries.get(refKey(ref));
    if (!e) return;
    e.reserved = Math.max(0, e.reserved - release);
    e.used += counted;
  }

  read(ref: LedgerRef): LedgerState | undefined {
    const e = this.entries.get(refKey(ref));
    return e && { used: e.used, reserved: e.reserved };
  }

  /** Drops entries of periods that ended (keeps memory to the keys of the current period). */
  prune(currentPeriodStart: Date): void {
    for (const [k, e] of this.entries) if (e.periodStart < currentPeriodStart.getTime() && e.reserved === 0) this.entries.delete(k);
  }
}
