import type { Role } from './decorators/roles.decorator';

/** What the auth guard attaches to a request: the key's rules, never its secret. */
export interface AuthenticatedKey {
  id: string;
  label: string;
  role: Role;
  quotaTokens: number | null;
  rpm: number | null;
  tpm: number | null;
  allowedModels: string[] | null;
}
