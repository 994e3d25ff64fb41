/**
 * Pending items keyed by what they update (a key id, a key and period...): an item for a key
 * already waiting is merged into it, so the buffer holds one item per key. Bounded like
 * BoundedBuffer: past `max` keys the oldest go first. `combine` must not care about order
 * (sums, maxima), because a failed batch is merged back with what arrived since. It may merge
 * into its first argument and return it (the buffer owns both).
 */
export class MergingBuffer<T> {
  private items = new Map<string, T>();

  constructor(
    readonly max: number,
    private readonly keyOf: (item: T) => string,
    private readonly combine: (a: T, b: T) => T,
  ) {
    if (!(max >= 1)) throw new Error('MergingBuffer needs max >= 1');
  }

  get size(): number {
    return this.items.size;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  values(): IterableIterator<T> {
    return this.items.values();
  }

  /** Adds or merges an item; returns how many of the oldest were dropped to make room (0 or 1). */
  push(item: T): number {
    const k = this.keyOf(item);
    const e = this.items.get(k);
    if (e === undefined) this.items.set(k, item);
    else {
      // A combine that returns its first argument merged in place: the entry keeps its slot.
      const merged = this.combine(e, item);
      if (merged !== e) this.items.set(k, merged);
      return 0;
    }
    return this.trim();
  }

  /** Removes and returns up to n of the oldest items. */
  take(n: number): T[] {
    if (n >= this.items.size) {
      const all = [...this.items.values()];
      this.items = new Map();
      return all;
    }
    const out: T[] = [];
    for (const [k, v] of this.items) {
      if (out.length >= n) break;
      out.push(v);
      this.items.delete(k);
    }
    return out;
  }

  /** Merges a failed batch back in front; returns how many of the oldest were dropped. */
  putBack(batch: T[]): number {
    if (!batch.length) return 0;
    const merged = new Map<string, T>();
    for (const item of batch) merged.set(this.keyOf(item), item);
    for (const [k, v] of this.items) {
      const e = merged.get(k);
      merged.set(k, e === undefined ? v : this.combine(e, v));
    }
    this.items = merged;
    return this.trim();
  }

  private trim(): number {
    if (this.items.size <= this.max) return 0;
    let dropped = 0;
    for (const k of this.items.keys()) {
      if (this.items.size <= this.max) break;
      this.items.delete(k);
      dropped++;
    }
    return dropped;
  }
}
