import {
  adjust,
  type Buckets,
  decide,
  type Decision,
  type LimitCheck,
  type WindowGeometry,
  windowMs,
} from './sliding-window';

/**
 * In-process counters: the store without REDIS_URL, and the fallback while Redis is down. Idle
 * keys are swept once per window so memory follows the keys active in the last minute.
 */
export class MemoryWindowStore {
  private readonly keys = new Map<string, Buckets>();
  private lastSweep = 0;

  constructor(private readonly geometry: WindowGeometry) {}

  consume(ids: string[], checks: LimitCheck[], now: number): Decision {
    this.sweep(now);
    return decide(
      ids.map((id) => this.bucketsOf(id)),
      checks,
      now,
      this.geometry,
    );
  }

  adjust(id: string, bucket: number, delta: number, now: number): void {
    adjust(this.bucketsOf(id), bucket, delta, now, this.geometry);
  }

  clear(): void {
    this.keys.clear();
  }

  /** Every key's non-zero buckets, for carrying them into Redis. */
  entries(): [string, [number, number][]][] {
    return [...this.keys].map(([id, b]) => [id, [...b].filter(([, n]) => n > 0)]);
  }

  has(id: string): boolean {
    return this.keys.has(id);
  }

  delete(id: string): void {
    this.keys.delete(id);
  }

  get size(): number {
    return this.keys.size;
  }

  private bucketsOf(id: string): Buckets {
    let b = this.keys.get(id);
    if (!b) this.keys.set(id, (b = new Map()));
    return b;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < windowMs(this.geometry)) return;
    this.lastSweep = now;
    const oldest = Math.floor(now / this.geometry.bucketMs) - this.geometry.buckets;
    for (const [id, b] of this.keys) {
      if (![...b.keys()].some((idx) => idx >= oldest)) this.keys.delete(id);
    }
  }
}
