import type { Role } from './decorators/roles.decorator';

/** A row of `api_keys` as the service sees it (the hash never leaves the repository). */
export interface ApiKeyRecord {
  id: string;
  label: string;
  role: Role;
  keyPrefix: string;
  active: boolean;
  quotaTokens: number | null;
  rpm: number | null;
  tpm: number | null;
  allowedModels: string[] | null;
  createdAt: Date;
  updatedAt: Date;
  lastUsedAt: Date | null;
  rotatedAt: Date | null;
  revokedAt: Date | null;
}

export type ApiKeyStatus = 'active' | 'inactive' | 'revoked';

export function statusOf(r: ApiKeyRecord): ApiKeyStatus {
  if (r.revokedAt) return 'revoked';
  return r.active ? 'active' : 'inactive';
}
