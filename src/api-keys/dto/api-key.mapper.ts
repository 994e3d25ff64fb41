import { ApiError } from '../../common/errors/api-error';
import { type ApiKeyRecord, statusOf } from '../api-key.record';
import { MAX_YEAR, MIN_YEAR } from '../../common/validation/sql-safe';
import type { ApiKeyDto } from './api-key.schemas';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toApiKeyDto(r: ApiKeyRecord): ApiKeyDto {
  return {
    id: r.id,
    label: r.label,
    role: r.role,
    key_prefix: r.keyPrefix,
    status: statusOf(r),
    active: r.active,
    quota_tokens: r.quotaTokens,
    rpm: r.rpm,
    tpm: r.tpm,
    allowed_models: r.allowedModels,
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
    last_used_at: iso(r.lastUsedAt),
    rotated_at: iso(r.rotatedAt),
    revoked_at: iso(r.revokedAt),
  };
}

/** Opaque keyset cursor: the last row's (created_at, id). */
export function encodeCursor(r: ApiKeyRecord): string {
  return Buffer.from(`${r.createdAt.toISOString()}|${r.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at);
  // Both go to SQL: a real UUID and a time PostgreSQL can compare (docs/api.md).
  const year = createdAt.getUTCFullYear();
  if (!id || Number.isNaN(createdAt.getTime()) || year < MIN_YEAR || year > MAX_YEAR || !UUID.test(id)) {
    throw ApiError.invalid('cursor: not a cursor this server issued', 'cursor');
  }
  return { createdAt, id };
}
