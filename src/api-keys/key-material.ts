import { createHash, hash, randomBytes } from 'node:crypto';

/** `sk-` + 256 random bits, URL-safe: well over the 128 bits a key needs. */
export function generateApiKey(): string {
  return `sk-${randomBytes(32).toString('base64url')}`;
}

/**
 * A plain SHA-256 is the right hash here: keys carry 256 bits of randomness, so there is nothing
 * for a slow password hash to protect, and auth must stay cheap on cache misses.
 */
export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** hashApiKey as hex, in one call (no Hash object): what authentication looks keys up by. */
export function hashApiKeyHex(key: string): string {
  return hash('sha256', key, 'hex');
}

export function displayPrefix(key: string): string {
  return key.slice(0, 11);
}

/** Keys we could have issued (or the configured bootstrap key); anything else is refused unseen. */
export function looksLikeApiKey(value: string): boolean {
  return /^sk-[A-Za-z0-9_-]{20,200}$/.test(value);
}
