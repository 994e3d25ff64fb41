import type { Counter } from 'prom-client';

/**
 * Counter increments summed in plain numbers and handed to prom-client at scrape time. Each
 * prom-client inc() builds and checks a label hash; a gateway request makes several, so the hot
 * path only adds to an entry found by its label values (docs/performance.md). Scrapes see the
 * same totals. Entries stay once created: label values are bounded (models, outcomes).
 */
export class PendingCounts<L extends string> {
  private readonly entries = new Map<string, { labels: Partial<Record<L, string>>; n: number }>();

  constructor(private readonly counter: Counter<L>) {}

  /** Adds `n` to the series `labels` (whose values `key` must identify). */
  add(key: string, n: number, labels: () => Partial<Record<L, string>>): void {
    const e = this.entries.get(key);
    if (e) e.n += n;
    else this.entries.set(key, { labels: labels(), n });
  }

  /** Hands what was counted since the last call to the counter. */
  flush(): void {
    for (const e of this.entries.values()) {
      if (e.n === 0) continue;
      this.counter.inc(e.labels, e.n);
      e.n = 0;
    }
  }
}
