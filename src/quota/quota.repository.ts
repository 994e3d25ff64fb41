import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { LedgerRef, LedgerState, ReserveAsk, ReserveOutcome } from './quota-ledger.types';

export interface UsedDelta extends LedgerRef {
  used: number;
}

export interface PeriodRow extends LedgerState {
  periodStart: Date;
  updatedAt: Date;
}

// Rows as pg returns them: bigint columns arrive as strings (int8 can exceed a JS number).
interface LedgerRow {
  used_tokens: string;
  reserved_tokens: string;
}
interface ReserveRow {
  used: string;
  reserved: string;
  granted: string;
  /** Null when the grant was refused (no row updated). */
  new_reserved: string | null;
}
interface PeriodDbRow extends LedgerRow {
  period_start: Date;
  updated_at: Date;
}

function toLedgerState(r: LedgerRow | undefined): LedgerState {
  return r ? { used: Number(r.used_tokens), reserved: Number(r.reserved_tokens) } : { used: 0, reserved: 0 };
}

function toReserveOutcome(r: ReserveRow): ReserveOutcome {
  if (r.new_reserved === null) return { state: 'refused', used: Number(r.used), reserved: Number(r.reserved) };
  return { state: 'granted', granted: Number(r.granted), used: Number(r.used), reserved: Number(r.new_reserved) };
}

function toPeriodRow(r: PeriodDbRow): PeriodRow {
  return { periodStart: r.period_start, ...toLedgerState(r), updatedAt: r.updated_at };
}

/** SQL for quota_usage: the write-behind target, and the exact ledger while Redis is down. */
@Injectable()
export class QuotaRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async read(ref: LedgerRef): Promise<LedgerState> {
    const rows = await this.db.query<LedgerRow[]>(
      `SELECT used_tokens, reserved_tokens FROM quota_usage WHERE key_id = $1 AND period_start = $2`,
      [ref.keyId, ref.periodStart],
    );
    return toLedgerState(rows[0]);
  }

  /**
   * The PostgreSQL-atomic reservation (Redis configured but down): the row lock makes the
   * check and the increment one decision across replicas; the grant is clamped to what is left.
   */
  async reserve(ref: LedgerRef, ask: ReserveAsk): Promise<ReserveOutcome> {
    await this.ensureRow(ref);
    const rows = await this.db.query<ReserveRow[]>(
      `WITH cur AS (
         SELECT used_tokens AS u, reserved_tokens AS r FROM quota_usage
         WHERE key_id = $1 AND period_start = $2 FOR UPDATE
       ), g AS (
         SELECT u, r, CASE WHEN $5::bigint IS NULL THEN $4::bigint
                           ELSE LEAST($4::bigint, $5::bigint - u - r - $3::bigint) END AS granted
         FROM cur
       ), upd AS (
         UPDATE quota_usage q SET reserved_tokens = g.r + $3::bigint + g.granted, updated_at = now()
         FROM g WHERE q.key_id = $1 AND q.period_start = $2 AND g.granted >= $6::bigint
         RETURNING q.reserved_tokens
       )
       SELECT g.u AS used, g.r AS reserved, g.granted, (SELECT reserved_tokens FROM upd) AS new_reserved FROM g`,
      [ref.keyId, ref.periodStart, ask.promptTokens, ask.maxTokens, ask.quota, ask.minCompletion],
    );
    // ensureRow made the row, so `cur` and `g` hold exactly one.
    return toReserveOutcome(rows[0]);
  }

  /** Settles a reservation made on the PostgreSQL path, in one statement. */
  async settle(ref: LedgerRef, release: number, counted: number): Promise<void> {
    await this.db.query(
      `UPDATE quota_usage SET used_tokens = used_tokens + $3, reserved_tokens = GREATEST(reserved_tokens - $4, 0), updated_at = now()
       WHERE key_id = $1 AND period_start = $2`,
      [ref.keyId, ref.periodStart, counted, release],
    );
  }

  /** Moves in-flight reservations between Redis and PostgreSQL when Redis goes or comes back. */
  async addReserved(ref: LedgerRef, delta: number): Promise<void> {
    await this.ensureRow(ref);
    await this.db.query(
      `UPDATE quota_usage SET reserved_tokens = GREATEST(reserved_tokens + $3, 0), updated_at = now()
       WHERE key_id = $1 AND period_start = $2`,
      [ref.keyId, ref.periodStart, delta],
    );
  }

  /**
   * Write-behind of settled usage: one multi-row upsert per flush. Rows of keys that do not
   * exist are dropped rather than failing the whole batch.
   */
  async addUsed(deltas: UsedDelta[]): Promise<void> {
    if (!deltas.length) return;
    await this.db.query(
      `INSERT INTO quota_usage AS q (key_id, period_start, used_tokens, reserved_tokens, updated_at)
       SELECT u.key_id, u.period_start, u.used, 0, now()
       FROM unnest($1::uuid[], $2::timestamptz[], $3::bigint[]) AS u(key_id, period_start, used)
       JOIN api_keys k ON k.id = u.key_id
       ON CONFLICT (key_id, period_start) DO UPDATE
         SET used_tokens = q.used_tokens + EXCLUDED.used_tokens, updated_at = now()`,
      [deltas.map((d) => d.keyId), deltas.map((d) => d.periodStart), deltas.map((d) => d.used)],
    );
  }

  /** A key's ledger rows whose period starts in [from, to). */
  async periods(keyId: string, from: Date, to: Date): Promise<PeriodRow[]> {
    const rows = await this.db.query<PeriodDbRow[]>(
      `SELECT period_start, used_tokens, reserved_tokens, updated_at FROM quota_usage
       WHERE key_id = $1 AND period_start >= $2 AND period_start < $3 ORDER BY period_start`,
      [keyId, from, to],
    );
    return rows.map(toPeriodRow);
  }

  private async ensureRow(ref: LedgerRef): Promise<void> {
    await this.db.query(`INSERT INTO quota_usage (key_id, period_start) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
      ref.keyId,
      ref.periodStart,
    ]);
  }
}
