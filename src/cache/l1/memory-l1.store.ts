import { LRUCache } from 'lru-cache';
import type { CacheEntry } from '../cached-entry';
import { L1Store } from './l1-store';

/** In-process L1 bounded by bytes (CACHE_L1_MAX_BYTES); 0 turns it off. */
export class MemoryL1Store extends L1Store {
  readonly kind = 'memory' as const;
  private readonly lru?: LRUCache<string, CacheEntry>;

  constructor(maxBytes: number) {
    super();
    if (maxBytes > 0)
      this.lru = new LRUCache<string, CacheEntry>({ maxSize: maxBytes, sizeCalculation: (e) => e.size });
  }

  get active(): boolean {
    return this.lru !== undefined;
  }

  get(_model: string, id: string, now: number): CacheEntry | undefined {
    const lru = this.lru;
    const e = lru?.get(id);
    if (!lru || e === undefined || e.expiresAt > now) return e;
    lru.delete(id);
    return undefined;
  }

  set(id: string, entry: CacheEntry): void {
    this.lru?.set(id, entry);
  }

  async purge(model?: string): Promise<void> {
    if (!this.lru) return;
    if (model === undefined) return this.lru.clear();
    const doomed: string[] = [];
    for (const [id, e] of this.lru.entries()) if (e.model === model) doomed.push(id);
    for (const id of doomed) this.lru.delete(id);
  }

  get bytes(): number {
    return this.lru?.calculatedSize ?? 0;
  }
}
