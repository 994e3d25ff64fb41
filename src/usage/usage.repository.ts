import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** One usage_daily increment (or row). `day` is YYYY-MM-DD (UTC). */
export interface DailyUsage {
  day: string;
  keyId: string;
  model: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  cachedRequests: number;
}

export type UsageTotals = Omit<DailyUsage, 'day' | 'keyId' | 'model'>;
export type UsageGroup = 'model' | 'key' | 'day';
export interface UsageGroupRow extends UsageTotals {
  group: string;
  label?: string;
}

const SUMS = `sum(requests)::bigint AS requests, sum(prompt_tokens)::bigint AS prompt_tokens,
  sum(completion_tokens)::bigint AS completion_tokens, sum(cached_requests)::bigint AS cached_requests`;

// Rows as pg returns them: bigint columns and sums arrive as strings (int8 can exceed a JS number).
interface TotalsRow {
  requests: string;
  prompt_tokens: string;
  completion_tokens: string;
  cached_requests: string;
}
interface ModelTotalsRow extends TotalsRow {
  model: string;
}
interface DayModelRow extends ModelTotalsRow {
  day: string;
}
interface GroupTotalsRow extends TotalsRow {
  grp: string;
  /** Only when grouped by key. */
  label?: string;
}

/** SQL for usage_daily: batched upserts in, range queries out (never the raw logs). */
@Injectable()
export class UsageRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** One multi-row upsert; rows of unknown keys are dropped rather than failing the batch. */
  async addDaily(rows: DailyUsage[]): Promise<void> {
    if (!rows.length) return;
    const col = <K extends keyof DailyUsage>(k: K) => rows.map((r) => r[k]);
    await this.db.query(
      `INSERT INTO usage_daily AS d (day, key_id, model, requests, prompt_tokens, completion_tokens, cached_requests)
       SELECT u.day, u.key_id, u.model, u.requests, u.prompt_tokens, u.completion_tokens, u.cached_requests
       FROM unnest($1::date[], $2::uuid[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
         AS u(day, key_id, model, requests, prompt_tokens, completion_tokens, cached_requests)
       JOIN api_keys k ON k.id = u.key_id
       ON CONFLICT (day, key_id, model) DO UPDATE SET
         requests = d.requests + EXCLUDED.requests,
         prompt_tokens = d.prompt_tokens + EXCLUDED.prompt_tokens,
         completion_tokens = d.completion_tokens + EXCLUDED.completion_tokens,
         cached_requests = d.cached_requests + EXCLUDED.cached_requests`,
      [
        col('day'),
        col('keyId'),
        col('model'),
        col('requests'),
        col('promptTokens'),
        col('completionTokens'),
        col('cachedRequests'),
      ],
    );
  }

  /** One key's totals per model over [from, to] (inclusive days). */
  async keyByModel(keyId: string, from: string, to: string): Promise<(UsageTotals & { model: string })[]> {
    const rows = await this.db.query<ModelTotalsRow[]>(
      `SELECT model, ${SUMS} FROM usage_daily WHERE key_id = $1 AND day BETWEEN $2 AND $3
       GROUP BY model ORDER BY model`,
      [keyId, from, to],
    );
    return rows.map((r) => ({ model: r.model, ...totals(r) }));
  }

  /** One key's rows per day and model over [from, to]. */
  async keyByDay(keyId: string, from: string, to: string): Promise<DailyUsage[]> {
    const rows = await this.db.query<DayModelRow[]>(
      `SELECT day::text AS day, model, requests, prompt_tokens, completion_tokens, cached_requests
       FROM usage_daily WHERE key_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day, model`,
      [keyId, from, to],
    );
    return rows.map((r) => ({ day: r.day, keyId, model: r.model, ...totals(r) }));
  }

  /** All keys' totals over [from, to], grouped; the largest first (days in order). */
  async aggregate(group: UsageGroup, from: string, to: string, limit: number): Promise<UsageGroupRow[]> {
    const sql =
      group === 'key'
        ? `WITH agg AS (
             SELECT key_id, ${SUMS} FROM usage_daily WHERE day BETWEEN $1 AND $2 GROUP BY key_id
             ORDER BY sum(prompt_tokens + completion_tokens) DESC, key_id LIMIT $3)
           SELECT agg.key_id::text AS grp, k.label, agg.requests, agg.prompt_tokens, agg.completion_tokens, agg.cached_requests
           FROM agg JOIN api_keys k ON k.id = agg.key_id
           ORDER BY agg.prompt_tokens + agg.completion_tokens DESC, agg.key_id`
        : group === 'model'
          ? `SELECT model AS grp, ${SUMS} FROM usage_daily WHERE day BETWEEN $1 AND $2 GROUP BY model
             ORDER BY sum(prompt_tokens + completion_tokens) DESC, model LIMIT $3`
          : `SELECT day::text AS grp, ${SUMS} FROM usage_daily WHERE day BETWEEN $1 AND $2 GROUP BY day
             ORDER BY day LIMIT $3`;
    const rows = await this.db.query<GroupTotalsRow[]>(sql, [from, to, limit]);
    return rows.map((r) => ({
      group: r.grp,
      ...(group === 'key' ? { label: r.label } : {}),
      ...totals(r),
    }));
  }
}

function totals(r: TotalsRow): UsageTotals {
  return {
    requests: Number(r.requests),
    promptTokens: Number(r.prompt_tokens),
    completionTokens: Number(r.completion_tokens),
    cachedRequests: Number(r.cached_requests),
  };
}
