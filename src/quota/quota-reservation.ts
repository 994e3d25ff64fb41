import type { LedgerRef } from './quota-ledger.types';

/** Where a ledger decision is made: Redis (shared), PostgreSQL (Redis down), in-process (no Redis). */
export type QuotaMode = 'redis' | 'postgres' | 'local';

/** Tokens held for one request until it settles. */
export class QuotaReservation {
  settled = false;

  constructor(
    readonly keyId: string,
    readonly periodStart: Date,
    /** When the period ends and the quota resets. */
    readonly resetAt: Date,
    /** The key's quota for the period; null = unlimited. */
    readonly quotaTokens: number | null,
    readonly promptTokens: number,
    readonly requestedMaxTokens: number,
    /** max_tokens to generate with: the request's, or fewer when the quota is nearly used up. */
    readonly maxTokens: number,
    /** Left in the period after this reservation; null = unlimited. */
    readonly remainingTokens: number | null,
    /** Moves between redis and postgres when Redis goes away or comes back. */
    public store: QuotaMode,
  ) {}

  /** True when maxTokens was lowered to fit the quota (the request then ends with `length`). */
  get clamped(): boolean {
    return this.maxTokens < this.requestedMaxTokens;
  }

  get reservedTokens(): number {
    return this.promptTokens + this.maxTokens;
  }

  get ref(): LedgerRef {
    return { keyId: this.keyId, periodStart: this.periodStart };
  }
}
