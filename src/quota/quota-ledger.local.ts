import type { LedgerRef, LedgerState, ReserveAsk, ReserveOutcome } from './quota-ledger.types';
import { refKey } from './quota-ledger.types';

/**
 * The single-replica ledger (no REDIS_URL). Entries are seeded once per key and period from
 * PostgreSQL (so a restart does not reset usage); after that every decision is synchronous,
 * hence atomic on Node's one thread.
 */
/** One key's period, as held in memory. */
export interface LocalEntry extends LedgerState {
  periodStart: number;
}

export class LocalQuotaLedger {
  private readonly entries = new Map<string, LocalEntry>();
  private readonly seeding = new Map<string, Promise<LocalEntry>>();

  /** The entry, seeded once however many requests ask at the same time. */
  async entry(ref: LedgerRef, loadSeed: () => Promise<number>): Promise<LocalEntry> {
    const k = refKey(ref);
    const known = this.entries.get(k);
    if (known) return known;
    let p = this.seeding.get(k);
    if (!p) {
      p = loadSeed()
        .then((used) => {
          const e = this.entries.get(k) ?? { used, reserved: 0, periodStart: ref.periodStart.getTime() };
          this.entries.set(k, e);
          return e;
        })
        .finally(() => this.seeding.delete(k));
      this.seeding.set(k, p);
    }
    return p;
  }

  /** Synchronous, hence atomic: call it in the same turn as entry() resolves. */
  reserve(e: LocalEntry, ask: ReserveAsk): ReserveOutcome {
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

  static state(e: LocalEntry): LedgerState {
    return { used: e.used, reserved: e.reserved };
  }

  /** Drops entries of periods that ended (keeps memory to the keys of the current period). */
  prune(currentPeriodStart: Date): void {
    for (const [k, e] of this.entries)
      if (e.periodStart < currentPeriodStart.getTime() && e.reserved === 0) this.entries.delete(k);
  }
}
