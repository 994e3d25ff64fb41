/**
 * Bucketed sliding window, the one algorithm behind every per-key limit (the Lua script in
 * `redis-window.store.ts` is a line-by-line twin; a parity spec keeps them equal).
 *
 * The window of `bucketMs * buckets` milliseconds is cut into buckets. A decision counts every
 * bucket that overlaps the trailing window (`buckets + 1` of them), so a unit of cost is held for
 * between one window and one window plus one bucket: never more than `limit` in ANY trailing
 * window (no fixed-window double bursts), at the price of capacity coming back up to one bucket
 * late.
 */
export interface WindowGeometry {
  bucketMs: number;
  buckets: number;
}

export interface LimitCheck {
  limit: number;
  /** 0 only reads the state (for headers). */
  cost: number;
}

export interface LimitState {
  limit: number;
  /** Counted in the window after this decision. */
  used: number;
  remaining: number;
  /** Until everything counted has left the window (OpenAI's "reset"). */
  resetMs: number;
  /** 0 when this check passed; -1 when it never can (cost above the limit). */
  retryAfterMs: number;
}

export interface Decision {
  allowed: boolean;
  /** Bucket the cost went into (for refunds). */
  bucket: number;
  /** Longest wait among the failing checks; -1 when one can never pass. */
  retryAfterMs: number;
  states: LimitState[];
}

export type Buckets = Map<number, number>;

export function windowMs(g: WindowGeometry): number {
  return g.bucketMs * g.buckets;
}

/** All-or-nothing: the costs are applied only when every check passes. Mutates `stores`. */
export function decide(stores: Buckets[], checks: LimitCheck[], now: number, g: WindowGeometry): Decision {
  const cur = Math.floor(now / g.bucketMs);
  const oldest = cur - g.buckets;
  const expiresAt = (idx: number) => (idx + g.buckets + 1) * g.bucketMs - now;
  let allowed = true;
  let retryAfterMs = 0;
  const used: number[] = [];
  const retries: number[] = [];
  const newestKept: number[] = [];
  checks.forEach((c, i) => {
    const b = stores[i];
    // forEach rather than for-of: no [index, count] pair per bucket (this runs 2-3 times per request).
    let sum = 0;
    let newest = -Infinity;
    b.forEach((n, idx) => {
      if (idx < oldest) b.delete(idx);
      else {
        sum += n;
        if (idx > newest) newest = idx;
      }
    });
    used.push(sum);
    newestKept.push(newest);
    let retry = 0;
    if (sum + c.cost > c.limit) {
      allowed = false;
      retry =
        c.cost > c.limit
          ? -1
          : expiresAt(
              freedBy(
                [...b].sort((x, y) => x[0] - y[0]),
                sum + c.cost - c.limit,
              ),
            );
    }
    retries.push(retry);
    if (retry === -1 || retryAfterMs === -1) retryAfterMs = -1;
    else retryAfterMs = Math.max(retryAfterMs, retry);
  });
  const states = checks.map((c, i) => {
    const b = stores[i];
    let newest = newestKept[i];
    if (allowed && c.cost > 0) {
      b.set(cur, (b.get(cur) ?? 0) + c.cost);
      if (cur > newest) newest = cur;
    }
    const after = allowed ? used[i] + c.cost : used[i];
    return {
      limit: c.limit,
      used: after,
      remaining: Math.max(0, c.limit - after),
      resetMs: newest === -Infinity ? 0 : expiresAt(newest),
      retryAfterMs: retries[i],
    };
  });
  return { allowed, bucket: cur, retryAfterMs: allowed ? 0 : retryAfterMs, states };
}

/** Index of the oldest bucket whose expiry frees at least `need` units. */
function freedBy(sorted: [number, number][], need: number): number {
  let freed = 0;
  for (const [idx, n] of sorted) {
    freed += n;
    if (freed >= need) return idx;
  }
  return sorted[sorted.length - 1][0];
}

/**
 * Corrects a past cost (token reservations settle to the real count): into its own bucket while
 * that is still in the window; a late positive correction lands in the current bucket; a late
 * refund has nothing left to give back.
 */
export function adjust(b: Buckets, bucket: number, delta: number, now: number, g: WindowGeometry): void {
  const cur = Math.floor(now / g.bucketMs);
  let target = bucket;
  if (bucket < cur - g.buckets) {
    if (delta <= 0) return;
    target = cur;
  }
  const next = (b.get(target) ?? 0) + delta;
  if (next > 0) b.set(target, next);
  else b.delete(target);
}
