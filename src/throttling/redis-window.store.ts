import type Redis from 'ioredis';
import type { Decision, LimitCheck, WindowGeometry } from './sliding-window';

/**
 * `decide()` of sliding-window.ts as one Lua script: one atomic decision per request for all of
 * its limits, on one clock (Redis's TIME unless the caller passes a time), so N replicas enforce
 * one limit. KEYS: one hash per limit (field = bucket index, value = count).
 * ARGV: now ('' = server time), bucketMs, buckets, then limit and cost per key.
 * Returns {allowed, bucket, retryAfterMs, then per key: used, remaining, resetMs, retryAfterMs}.
 */
const CONSUME = `
local now = tonumber(ARGV[1])
if not now then local t = redis.call('TIME'); now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
local g = tonumber(ARGV[2]); local B = tonumber(ARGV[3])
local cur = math.floor(now / g); local oldest = cur - B
local function expiresAt(idx) return (idx + B + 1) * g - now end
local allowed = 1; local retryAll = 0
local used = {}; local retries = {}; local newest = {}
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 + 2 * i]); local cost = tonumber(ARGV[3 + 2 * i])
  local flat = redis.call('HGETALL', KEYS[i])
  local sum = 0; local live = {}
  for j = 1, #flat, 2 do
    local idx = tonumber(flat[j]); local n = tonumber(flat[j + 1])
    if idx < oldest then redis.call('HDEL', KEYS[i], flat[j]) else sum = sum + n; live[#live + 1] = {idx, n} end
  end
  table.sort(live, function(a, b) return a[1] < b[1] end)
  used[i] = sum
  newest[i] = live[#live] and live[#live][1] or nil
  local retry = 0
  if sum + cost > limit then
    allowed = 0
    if cost > limit then retry = -1 else
      local need = sum + cost - limit; local freed = 0
      for _, e in ipairs(live) do freed = freed + e[2]; if freed >= need then retry = expiresAt(e[1]); break end end
    end
  end
  retries[i] = retry
  if retry == -1 or retryAll == -1 then retryAll = -1 elseif retry > retryAll then retryAll = retry end
end
local out = {allowed, cur, allowed == 1 and 0 or retryAll}
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 + 2 * i]); local cost = tonumber(ARGV[3 + 2 * i])
  local after = used[i]
  if allowed == 1 and cost > 0 then
    redis.call('HINCRBY', KEYS[i], cur, cost)
    redis.call('PEXPIRE', KEYS[i], (B + 2) * g)
    after = after + cost
    newest[i] = cur
  end
  local rem = limit - after; if rem < 0 then rem = 0 end
  out[#out + 1] = after; out[#out + 1] = rem
  out[#out + 1] = newest[i] and expiresAt(newest[i]) or 0
  out[#out + 1] = retries[i]
end
return out`;

/** adjust() of sliding-window.ts. KEYS[1]; ARGV: now ('' = server time), bucketMs, buckets, bucket, delta. */
const ADJUST = `
local now = tonumber(ARGV[1])
if not now then local t = redis.call('TIME'); now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
local g = tonumber(ARGV[2]); local B = tonumber(ARGV[3])
local bucket = tonumber(ARGV[4]); local delta = tonumber(ARGV[5])
local cur = math.floor(now / g)
if bucket < cur - B then
  if delta <= 0 then return 0 end
  bucket = cur
end
local next = redis.call('HINCRBY', KEYS[1], bucket, delta)
if next <= 0 then redis.call('HDEL', KEYS[1], bucket) end
redis.call('PEXPIRE', KEYS[1], (B + 2) * g)
return 1`;

/**
 * Carries counts made on in-process counters during an outage into the shared window, so a key
 * does not get a fresh window when Redis returns (docs/limits.md). KEYS[1];
 * ARGV: now ('' = server time), bucketMs, buckets, then bucket and count pairs. Buckets already
 * out of the window are skipped.
 */
const MERGE = `
local now = tonumber(ARGV[1])
if not now then local t = redis.call('TIME'); now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
local g = tonumber(ARGV[2]); local B = tonumber(ARGV[3])
local oldest = math.floor(now / g) - B
local added = 0
for i = 4, #ARGV, 2 do
  local bucket = tonumber(ARGV[i]); local n = tonumber(ARGV[i + 1])
  if bucket >= oldest and n > 0 then redis.call('HINCRBY', KEYS[1], bucket, n); added = added + n end
end
if added > 0 then redis.call('PEXPIRE', KEYS[1], (B + 2) * g) end
return added`;

type WindowCommands = {
  llmWindowMerge(...args: (string | number)[]): Promise<number>;
  llmWindowConsume(...args: (string | number)[]): Promise<number[]>;
  llmWindowAdjust(...args: (string | number)[]): Promise<number>;
};

/** The shared store: EVALSHA of the scripts above through ioredis `defineCommand`. */
export class RedisWindowStore {
  constructor(
    private readonly client: Redis,
    private readonly geometry: WindowGeometry,
  ) {
    // Defined once per client; ioredis falls back from EVALSHA to EVAL after a Redis restart.
    const c = client as Redis & Partial<WindowCommands>;
    if (!c.llmWindowConsume) client.defineCommand('llmWindowConsume', { lua: CONSUME });
    if (!c.llmWindowAdjust) client.defineCommand('llmWindowAdjust', { lua: ADJUST });
    if (!c.llmWindowMerge) client.defineCommand('llmWindowMerge', { lua: MERGE });
  }

  /** `now` undefined: Redis's own clock, the same for every replica. */
  async consume(ids: string[], checks: LimitCheck[], now?: number): Promise<Decision> {
    const args: (string | number)[] = [ids.length, ...ids, now ?? '', this.geometry.bucketMs, this.geometry.buckets];
    for (const c of checks) args.push(c.limit, c.cost);
    const r = (await this.commands.llmWindowConsume(...args)).map(Number);
    return {
      allowed: r[0] === 1,
      bucket: r[1],
      retryAfterMs: r[2],
      states: checks.map((c, i) => {
        const [used, remaining, resetMs, retryAfterMs] = r.slice(3 + 4 * i, 7 + 4 * i);
        return { limit: c.limit, used, remaining, resetMs, retryAfterMs };
      }),
    };
  }

  async adjust(id: string, bucket: number, delta: number, now?: number): Promise<void> {
    await this.commands.llmWindowAdjust(1, id, now ?? '', this.geometry.bucketMs, this.geometry.buckets, bucket, delta);
  }

  /** Adds local bucket counts to the shared window in one atomic step; returns what was added. */
  async merge(id: string, buckets: [number, number][], now?: number): Promise<number> {
    if (!buckets.length) return 0;
    return Number(
      await this.commands.llmWindowMerge(
        1,
        id,
        now ?? '',
        this.geometry.bucketMs,
        this.geometry.buckets,
        ...buckets.flat(),
      ),
    );
  }

  private get commands(): WindowCommands {
    return this.client as unknown as WindowCommands;
  }
}
