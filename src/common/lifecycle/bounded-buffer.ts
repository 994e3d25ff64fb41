/**
 * A FIFO with a hard bound: when full, the oldest rows go first (the newest are the ones a user is
 * most likely to be looking for). Array plus head index: push and take are O(1) amortized.
 */
export class BoundedBuffer<T> {
  private items: T[] = [];
  private head = 0;

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new Error('BoundedBuffer needs max >= 1');
  }

  get size(): number {
    return this.items.length - this.head;
  }

  /** Adds a row; returns how many of the oldest were dropped to make room (0 or 1). */
  push(item: T): number {
    this.items.push(item);
    return this.trim();
  }

  /** Removes and returns up to n of the oldest rows. */
  take(n: number): T[] {
    const end = Math.min(this.head + n, this.items.length);
    const out = this.items.slice(this.head, end);
    this.head = end;
    this.compact();
    return out;
  }

  /**
   * Puts a failed batch back in front (it is older than everything queued since); returns how
   * many of the oldest were dropped to stay within the bound.
   */
  putBack(batch: T[]): number {
    if (!batch.length) return 0;
    this.items = batch.concat(this.items.slice(this.head));
    this.head = 0;
    return this.trim();
  }

  private trim(): number {
    const over = this.size - this.max;
    if (over <= 0) return 0;
    for (let i = this.head; i < this.head + over; i++) this.items[i] = undefined as T;
    this.head += over;
    this.compact();
    return over;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
