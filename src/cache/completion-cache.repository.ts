import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { ResponseJson } from './cached-entry';

export interface CacheRow {
  model: string;
  response: unknown;
  expiresAt: Date;
}

export interface NewCacheRow {
  key: Buffer;
  model: string;
  version: string;
  response: ResponseJson;
  createdAt: Date;
  expiresAt: Date;
}

// Rows as pg returns them (jsonb parsed, timestamptz as Date).
interface CacheDbRow {
  model: string;
  response: unknown;
  expires_at: Date;
}
interface CountRow {
  n: number;
}
interface LockRow {
  ok: boolean;
}

function toCacheRow(r: CacheDbRow): CacheRow {
  return { model: r.model, response: r.response, expiresAt: r.expires_at };
}

/** Only one replica sweeps at a time; the others skip that round. */
const SWEEP_LOCK = `hashtext('llm-server:completion-cache-sweep')`;

/** SQL for completion_cache (L2, the source of truth). */
@Injectable()
export class CompletionCacheRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async find(key: Buffer, now: Date): Promise<CacheRow | undefined> {
    const rows = await this.db.query<CacheDbRow[]>(
      `SELECT model, response, expires_at FROM completion_cache WHERE cache_key = $1 AND expires_at > $2`,
      [key, now],
    );
    return rows[0] && toCacheRow(rows[0]);
  }

  /** A fresh answer replaces an older one for the same key; its hit statistics are kept. */
  async upsert(r: NewCacheRow): Promise<void> {
    await this.db.query(
      `INSERT INTO completion_cache (cache_key, model, model_version, response, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (cache_key) DO UPDATE SET
         model = EXCLUDED.model, model_version = EXCLUDED.model_version, response = EXCLUDED.response,
         created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at`,
      [r.key, r.model, r.version, JSON.stringify(r.response), r.createdAt, r.expiresAt],
    );
  }

  /** One statement for a whole batch of hits: counts add up atomically across replicas. */
  async recordHits(keys: Buffer[], counts: number[], times: Date[]): Promise<void> {
    if (!keys.length) return;
    await this.db.query(
      `UPDATE completion_cache c
          SET hit_count = c.hit_count + v.n, last_hit_at = GREATEST(c.last_hit_at, v.t)
         FROM unnest($1::bytea[], $2::bigint[], $3::timestamptz[]) AS v(k, n, t)
        WHERE c.cache_key = v.k`,
      [keys, counts, times],
    );
  }

  /**
   * One sweep round in one transaction: up to `batch` expired rows, then up to `batch` rows
   * beyond the newest `maxEntries` (by last use). Null when another replica holds the sweep.
   */
  async sweep(now: Date, maxEntries: number, batch: number): Promise<{ expired: number; evicted: number } | null> {
    return this.db.transaction(async (m) => {
      const [{ ok }] = await m.query<LockRow[]>(`SELECT pg_try_advisory_xact_lock(${SWEEP_LOCK}) AS ok`);
      if (!ok) return null;
      const [{ n: expired }] = await m.query<CountRow[]>(
        `WITH d AS (
           DELETE FROM completion_cache WHERE cache_key IN (
             SELECT cache_key FROM completion_cache WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)
           RETURNING 1)
         SELECT count(*)::int AS n FROM d`,
        [now, batch],
      );
      const [{ n: evicted }] = await m.query<CountRow[]>(
        `WITH d AS (
           DELETE FROM completion_cache WHERE cache_key IN (
             SELECT cache_key FROM completion_cache
              ORDER BY COALESCE(last_hit_at, created_at) DESC OFFSET $1 LIMIT $2)
           RETURNING 1)
         SELECT count(*)::int AS n FROM d`,
        [maxEntries, batch],
      );
      return { expired, evicted };
    });
  }

  async purge(model?: string): Promise<number> {
    const rows = await this.db.query<CountRow[]>(
      `WITH d AS (DELETE FROM completion_cache ${model === undefined ? '' : 'WHERE model = $1'} RETURNING 1)
       SELECT count(*)::int AS n FROM d`,
      model === undefined ? [] : [model],
    );
    return rows[0].n;
  }
}
