/** One key's ledger row for one period. */
export interface LedgerRef {
  keyId: string;
  periodStart: Date;
}

export interface LedgerState {
  used: number;
  reserved: number;
}

/** The answer to a reservation: granted completion tokens (maybe clamped), or refused. */
export type ReserveOutcome =
  | { state: 'granted'; granted: number; used: number; reserved: number }
  | { state: 'refused'; used: number; reserved: number };

export interface ReserveAsk {
  promptTokens: number;
  maxTokens: number;
  /** null = unlimited. */
  quota: number | null;
  /** Fewest completion tokens worth serving (1, or 0 when max_tokens is 0). */
  minCompletion: number;
}

export function refKey(r: LedgerRef): string {
  return `${r.keyId}:${r.periodStart.getTime()}`;
}
