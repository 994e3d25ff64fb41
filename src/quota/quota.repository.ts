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

/** SQL for quota_usage: the write-behind target, and the exact ledger while Redis is down. */
@Injectable()
export class QuotaRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async read(ref: LedgerRef): Promise<LedgerState> {
    const rows = await this.db.query(
      `SELECT used_tokens, reserved_tokens FROM quota_usage WHERE key_id = $1 AND period_start = $2`,
      [ref.keyId, ref.periodStart],
    );
    return rows[0] ? { used: Number(rows[0].used_tokens), reserved: Number(rows[0].reserved_tokens) } : { used: 0, reserved: 0 };
  }

  /**
   * The PostgreSQL-atomic reservation (Redis configured but down): the row lock makes the
   * check and the increment one decision across replicas; the grant is clamped to what is left.
   */
  async reserve(ref: LedgerRef, ask: ReserveAsk): Promise<ReserveOutcome> {
    await this.ensureRow(ref);
    const rows = await this.db.query(
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
    const row = rows[0];
    if (row.new_reserved === null) return { state: 'refused', used: Number(row.used), reserved: Number(row.reserved) };
    return { state: 'granted', granted: Number(row.granted), used: Number(row.used), reserved: Number(row.new_reserved) };
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
    const rows = await this.db.query(
      `SELECT period_start, used_tokens, reserved_tokens, updated_at FROM quota_usage
       WHERE key_id = $1 AND period_start >= $2 AND period_start < $3 ORDER BY period_start`,
      [keyId, from, to],
    );
    return rows.map((r: Record<string, unknown>) => ({
      periodStart: r.period_start as Date,
      used: Number(r.used_tokens),
      reserved: Number(r.reserved_tokens),
      updatedAt: r.updated_at as Date,
    }));
  }

  private async ensureRow(ref: LedgerRef): Promise<void> {
    await this.db.query(
      `INSERT INTO quota_usage (key_id, period_start) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [ref.keyId, ref.periodStart],
    );
  }
}
