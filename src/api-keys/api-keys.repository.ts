import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Role } from './decorators/roles.decorator';
import { ApiKeyRecord } from './api-key.record';

export const KEY_CHANGED_CHANNEL = 'api_key_changed';

const COLUMNS = `id, label, role, key_prefix, active, quota_tokens, rpm, tpm, allowed_models,
  created_at, updated_at, last_used_at, rotated_at, revoked_at`;

/** An api_keys row (COLUMNS) as pg returns it: bigint as a string, integer as a number. */
interface ApiKeyRow {
  id: string;
  label: string;
  role: Role;
  key_prefix: string;
  active: boolean;
  quota_tokens: string | null;
  rpm: number | null;
  tpm: number | null;
  allowed_models: string[] | null;
  created_at: Date;
  updated_at: Date;
  last_used_at: Date | null;
  rotated_at: Date | null;
  revoked_at: Date | null;
}

export interface NewApiKeyRow {
  label: string;
  role: Role;
  hash: Buffer;
  prefix: string;
  quotaTokens: number | null;
  rpm: number | null;
  tpm: number | null;
  allowedModels: string[] | null;
}

export interface ApiKeyPatch {
  label?: string;
  role?: Role;
  active?: boolean;
  quotaTokens?: number | null;
  rpm?: number | null;
  tpm?: number | null;
  allowedModels?: string[] | null;
}

export interface ListFilter {
  limit: number;
  after?: { createdAt: Date; id: string };
  active?: boolean;
  role?: Role;
  label?: string;
}

const PATCH_COLUMNS: Record<keyof ApiKeyPatch, string> = {
  label: 'label',
  role: 'role',
  active: 'active',
  quotaTokens: 'quota_tokens',
  rpm: 'rpm',
  tpm: 'tpm',
  allowedModels: 'allowed_models',
};

/**
 * SQL for api_keys. Every change notifies `api_key_changed` with the key id in the same
 * statement, so every replica's key cache drops the entry when the change commits.
 */
@Injectable()
export class ApiKeysRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async insert(row: NewApiKeyRow): Promise<ApiKeyRecord> {
    const rows = await this.db.query<ApiKeyRow[]>(
      `WITH k AS (
         INSERT INTO api_keys (label, role, key_hash, key_prefix, quota_tokens, rpm, tpm, allowed_models)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS})
       SELECT k.*, pg_notify('${KEY_CHANGED_CHANNEL}', k.id::text) FROM k`,
      [row.label, row.role, row.hash, row.prefix, row.quotaTokens, row.rpm, row.tpm, row.allowedModels],
    );
    return toRecord(rows[0]);
  }

  /** Inserts the bootstrap key unless its hash is already known (idempotent across restarts). */
  async insertIfAbsent(row: NewApiKeyRow): Promise<boolean> {
    const rows = await this.db.query<{ id: string }[]>(
      `INSERT INTO api_keys (label, role, key_hash, key_prefix) VALUES ($1, $2, $3, $4)
       ON CONFLICT (key_hash) DO NOTHING RETURNING id`,
      [row.label, row.role, row.hash, row.prefix],
    );
    return rows.length > 0;
  }

  /**
   * Creates a first admin key only if the table is empty; the advisory lock keeps two replicas
   * booting at once from both creating one.
   */
  async insertIfEmpty(row: NewApiKeyRow): Promise<boolean> {
    return this.db.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('llm-server:bootstrap-key'))`);
      const [{ n }] = await m.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM api_keys`);
      if (n > 0) return false;
      await m.query(`INSERT INTO api_keys (label, role, key_hash, key_prefix) VALUES ($1, $2, $3, $4)`, [
        row.label,
        row.role,
        row.hash,
        row.prefix,
      ]);
      return true;
    });
  }

  async findByHash(hash: Buffer): Promise<ApiKeyRecord | null> {
    const rows = await this.db.query<ApiKeyRow[]>(`SELECT ${COLUMNS} FROM api_keys WHERE key_hash = $1`, [hash]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async findById(id: string): Promise<ApiKeyRecord | null> {
    const rows = await this.db.query<ApiKeyRow[]>(`SELECT ${COLUMNS} FROM api_keys WHERE id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async list(f: ListFilter): Promise<ApiKeyRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => `$${args.push(v)}`;
    if (f.after) where.push(`(created_at, id) < (${arg(f.after.createdAt)}, ${arg(f.after.id)})`);
    if (f.active !== undefined) where.push(`active = ${arg(f.active)} AND revoked_at IS NULL`);
    if (f.role) where.push(`role = ${arg(f.role)}`);
    if (f.label) where.push(`label ILIKE ${arg(`%${f.label.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)}`);
    const rows = await this.db.query<ApiKeyRow[]>(
      `SELECT ${COLUMNS} FROM api_keys ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, id DESC LIMIT ${arg(f.limit)}`,
      args,
    );
    return rows.map(toRecord);
  }

  /** Applies a patch to a key that is not revoked; null when there is no such key. */
  async update(id: string, patch: ApiKeyPatch): Promise<ApiKeyRecord | null> {
    const sets: string[] = [];
    const args: unknown[] = [id];
    for (const [field, column] of Object.entries(PATCH_COLUMNS)) {
      const value = patch[field as keyof ApiKeyPatch];
      if (value !== undefined) sets.push(`${column} = $${args.push(value)}`);
    }
    return this.mutate(
      `UPDATE api_keys SET ${sets.join(', ')}, updated_at = now() WHERE id = $1 AND revoked_at IS NULL`,
      args,
    );
  }

  async rotate(id: string, hash: Buffer, prefix: string): Promise<ApiKeyRecord | null> {
    return this.mutate(
      `UPDATE api_keys SET key_hash = $2, key_prefix = $3, rotated_at = now(), updated_at = now()
       WHERE id = $1 AND revoked_at IS NULL`,
      [id, hash, prefix],
    );
  }

  async revoke(id: string): Promise<ApiKeyRecord | null> {
    return this.mutate(
      `UPDATE api_keys SET active = false, revoked_at = now(), updated_at = now() WHERE id = $1 AND revoked_at IS NULL`,
      [id],
    );
  }

  /** One statement for a whole batch of last-used times: no write per request. */
  async touchLastUsed(ids: string[], times: Date[]): Promise<void> {
    if (!ids.length) return;
    await this.db.query(
      `UPDATE api_keys k SET last_used_at = v.t
       FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, t)
       WHERE k.id = v.id AND (k.last_used_at IS NULL OR k.last_used_at < v.t)`,
      [ids, times],
    );
  }

  private async mutate(updateSql: string, args: unknown[]): Promise<ApiKeyRecord | null> {
    const rows = await this.db.query<ApiKeyRow[]>(
      `WITH k AS (${updateSql} RETURNING ${COLUMNS})
       SELECT k.*, pg_notify('${KEY_CHANGED_CHANNEL}', k.id::text) FROM k`,
      args,
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }
}

function toRecord(r: ApiKeyRow): ApiKeyRecord {
  return {
    id: r.id,
    label: r.label,
    role: r.role,
    keyPrefix: r.key_prefix,
    active: r.active,
    quotaTokens: r.quota_tokens === null ? null : Number(r.quota_tokens),
    rpm: r.rpm,
    tpm: r.tpm,
    allowedModels: r.allowed_models,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    lastUsedAt: r.last_used_at,
    rotatedAt: r.rotated_at,
    revokedAt: r.revoked_at,
  };
}
