import { Injectable, Logger } from '@nestjs/common';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code';
import type { Role } from './decorators/roles.decorator';
import { ApiKeyCache, KeyLookup } from './api-key.cache';
import { ApiKeyRecord } from './api-key.record';
import { ApiKeyPatch, ApiKeysRepository, ListFilter } from './api-keys.repository';
import { AuthenticatedKey } from './authenticated-key';
import { displayPrefix, generateApiKey, hashApiKey, hashApiKeyHex, looksLikeApiKey } from './key-material';
import { LastUsedTracker } from './last-used.tracker';

/** A new key's rules: everything an authenticated key carries but its id. */
export type CreateKeyInput = Omit<AuthenticatedKey, 'id'>;

/** Key rules: issuing, changing and checking keys. SQL lives in the repository. */
@Injectable()
export class ApiKeysService {
  private readonly logger = new Logger(ApiKeysService.name);

  constructor(
    private readonly repo: ApiKeysRepository,
    private readonly cache: ApiKeyCache,
    private readonly lastUsed: LastUsedTracker,
  ) {}

  /** Resolves a presented key; throws the auth errors of docs/api.md. */
  async authenticate(presented: string): Promise<AuthenticatedKey> {
    if (!looksLikeApiKey(presented)) throw new ApiError(ErrorCode.InvalidApiKey, 'invalid API key');
    const hex = hashApiKeyHex(presented);
    let lookup = this.cache.get(hex);
    if (!lookup) {
      const record = await this.repo.findByHash(Buffer.from(hex, 'hex'));
      lookup = toLookup(record);
      this.cache.set(hex, lookup, record?.id);
    }
    if (lookup.state === 'unknown') throw new ApiError(ErrorCode.InvalidApiKey, 'invalid API key');
    if (lookup.state === 'inactive') throw new ApiError(ErrorCode.ApiKeyInactive, 'this API key is deactivated');
    this.lastUsed.touch(lookup.key.id);
    return lookup.key;
  }

  async create(input: CreateKeyInput): Promise<{ record: ApiKeyRecord; key: string }> {
    const key = generateApiKey();
    const record = await this.repo.insert({ ...input, hash: hashApiKey(key), prefix: displayPrefix(key) });
    return { record, key };
  }

  async get(id: string): Promise<ApiKeyRecord> {
    const record = await this.repo.findById(id);
    if (!record) throw new ApiError(ErrorCode.NotFound, `no API key with id ${id}`, 'id');
    return record;
  }

  list(filter: ListFilter): Promise<ApiKeyRecord[]> {
    return this.repo.list(filter);
  }

  async update(id: string, patch: ApiKeyPatch): Promise<ApiKeyRecord> {
    return this.changed(id, await this.repo.update(id, patch));
  }

  async rotate(id: string): Promise<{ record: ApiKeyRecord; key: string }> {
    const key = generateApiKey();
    const record = this.changed(id, await this.repo.rotate(id, hashApiKey(key), displayPrefix(key)));
    return { record, key };
  }

  async revoke(id: string): Promise<ApiKeyRecord> {
    return this.changed(id, await this.repo.revoke(id));
  }

  /** BOOTSTRAP_API_KEY if set (idempotent), else a generated admin key on an empty table. */
  async bootstrap(configured: string | undefined, announce: (key: string) => void): Promise<void> {
    const key = configured ?? generateApiKey();
    const row = {
      label: 'bootstrap',
      role: 'admin' as Role,
      hash: hashApiKey(key),
      prefix: displayPrefix(key),
      quotaTokens: null,
      rpm: null,
      tpm: null,
      allowedModels: null,
    };
    if (configured) {
      if (await this.repo.insertIfAbsent(row)) this.logger.log('bootstrap admin key from BOOTSTRAP_API_KEY registered');
      return;
    }
    if (await this.repo.insertIfEmpty(row)) announce(key);
  }

  /** The local cache drops the key at once; other replicas hear the NOTIFY. */
  private changed(id: string, record: ApiKeyRecord | null): ApiKeyRecord {
    this.cache.evictKey(id);
    if (record) return record;
    throw new ApiError(ErrorCode.NotFound, `no API key with id ${id} (or it is revoked)`, 'id');
  }
}

function toLookup(r: ApiKeyRecord | null): KeyLookup {
  if (!r || r.revokedAt) return { state: 'unknown' };
  if (!r.active) return { state: 'inactive' };
  return {
    state: 'ok',
    key: {
      id: r.id,
      label: r.label,
      role: r.role,
      quotaTokens: r.quotaTokens,
      rpm: r.rpm,
      tpm: r.tpm,
      allowedModels: r.allowedModels,
    },
  };
}
