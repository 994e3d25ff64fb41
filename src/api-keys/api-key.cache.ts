import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { AuthenticatedKey } from './authenticated-key';
import { KeyChangeListener } from './key-change.listener';

export type KeyLookup = { state: 'ok'; key: AuthenticatedKey } | { state: 'inactive' } | { state: 'unknown' };

interface Entry {
  value: KeyLookup;
  expiresAt: number;
  keyId?: string;
}

const MAX_ENTRIES = 100_000;
const NEGATIVE_TTL_MS = 5_000;

/**
 * Short-lived in-memory answers to "which key is this hash", so a request costs no database
 * round trip. Correctness comes from the change listener, not the TTL: any change to a key, on
 * any replica, evicts it here within milliseconds; while the listener is down nothing is cached.
 */
@Injectable()
export class ApiKeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly hashesById = new Map<string, Set<string>>();

  constructor(
    private readonly config: AppConfig,
    private readonly listener: KeyChangeListener,
  ) {
    listener.onKeyChanged((id) => this.evictKey(id));
    listener.onHealthChanged(() => this.clear());
  }

  get(hashHex: string, now = Date.now()): KeyLookup | undefined {
    const e = this.entries.get(hashHex);
    if (!e) return undefined;
    if (e.expiresAt <= now) {
      this.delete(hashHex, e);
      return undefined;
    }
    return e.value;
  }

  set(hashHex: string, value: KeyLookup, keyId?: string, now = Date.now()): void {
    if (!this.listener.healthy || this.config.auth.keyCacheTtlMs === 0) return;
    if (this.entries.size >= MAX_ENTRIES) this.clear();
    const ttl =
      value.state === 'unknown'
        ? Math.min(NEGATIVE_TTL_MS, this.config.auth.keyCacheTtlMs)
        : this.config.auth.keyCacheTtlMs;
    this.entries.set(hashHex, { value, expiresAt: now + ttl, keyId });
    if (keyId) {
      let set = this.hashesById.get(keyId);
      if (!set) this.hashesById.set(keyId, (set = new Set()));
      set.add(hashHex);
    }
  }

  /** A changed key loses its entries; a created key may have been cached as unknown. */
  evictKey(keyId: string): void {
    for (const h of this.hashesById.get(keyId) ?? []) this.entries.delete(h);
    this.hashesById.delete(keyId);
    for (const [h, e] of this.entries) if (e.value.state === 'unknown') this.entries.delete(h);
  }

  clear(): void {
    this.entries.clear();
    this.hashesById.clear();
  }

  private delete(hashHex: string, e: Entry): void {
    this.entries.delete(hashHex);
    if (e.keyId) this.hashesById.get(e.keyId)?.delete(hashHex);
  }
}
