import type { ChatMessage } from './provider.interface';

const MAX_ENTRIES = 4096;
const MAX_KEY_CHARS = 16_384;

/**
 * Recent prompt token counts per model version. Repeated prompts (cache hits, retries, shared
 * system prompts) skip the tokenizer, which is otherwise the largest cost of a cache hit.
 * Bounded in entries and key size; a new model version never reuses an old count.
 */
export class TokenCountMemo {
  private readonly counts = new Map<string, number>();

  key(version: string, input: string | ChatMessage[]): string | undefined {
    const text = typeof input === 'string' ? input : JSON.stringify(input);
    return text.length > MAX_KEY_CHARS
      ? undefined
      : `${version}\u0000${typeof input === 'string' ? 's' : 'm'}\u0000${text}`;
  }

  get(key: string): number | undefined {
    const n = this.counts.get(key);
    if (n !== undefined) {
      // Refresh: a Map iterates in insertion order, so the oldest entry is evicted first.
      this.counts.delete(key);
      this.counts.set(key, n);
    }
    return n;
  }

  set(key: string, n: number): void {
    if (this.counts.size >= MAX_ENTRIES) this.counts.delete(this.counts.keys().next().value as string);
    this.counts.set(key, n);
  }
}
