import type Redis from 'ioredis';
import { type LedgerRef, type LedgerState, type ReserveAsk, type ReserveOutcome } from './quota-ledger.types';

/**
 * Reserve: one decision on `used` + `reserved` of one key and period. A missing entry (first use
 * in the period, or Redis lost it) answers -1 unless a seed is passed; with a seed the entry is
 * created only if still absent (SET NX style), so racing replicas seed it once.
 * KEYS[1]; ARGV: prompt, max, quota (-1 = unlimited), minCompletion, seed ('' = none),
 * ttlMs, force ('1': no check, to adopt a reservation already granted elsewhere).
 * Returns {status (1 granted, 0 refused, -1 missing), used, reserved, granted}.
 */
const RESERVE = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[5] == '' then return {-1, 0, 0, 0} end
  redis.call('HSET', KEYS[1], 'used', ARGV[5], 'reserved', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
end
local v = redis.call('HMGET', KEYS[1], 'used', 'reserved')
local used = tonumber(v[1]) or 0; local reserved = tonumber(v[2]) or 0
local prompt = tonumber(ARGV[1]); local grant = tonumber(ARGV[2]); local quota = tonumber(ARGV[3])
if quota >= 0 and ARGV[7] ~= '1' then
  local left = quota - used - reserved - prompt
  if left < tonumber(ARGV[4]) then return {0, used, reserved, 0} end
  if left < grant then grant = left end
end
redis.call('HINCRBY', KEYS[1], 'reserved', prompt + grant)
return {1, used, reserved + prompt + grant, grant}`;

/**
 * Settle: counts `counted` and releases `release` (never below zero). A missing entry is left
 * missing: the next reservation seeds it from PostgreSQL, which the write-behind brings up to date.
 * KEYS[1]; ARGV: release, counted.
 */
const SETTLE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved')) or 0
local release = tonumber(ARGV[1]); if release > reserved then release = reserved end
if release > 0 then redis.call('HINCRBY', KEYS[1], 'reserved', -release) end
if tonumber(ARGV[2]) ~= 0 then redis.call('HINCRBY', KEYS[1], 'used', ARGV[2]) end
return 1`;

type QuotaCommands = {
  llmQuotaReserve(key: string, ...args: (string | number)[]): Promise<number[]>;
  llmQuotaSettle(key: string, ...args: (string | number)[]): Promise<number>;
};

/** The shared quota ledger: one Lua script per decision (EVALSHA via defineCommand). */
export class RedisQuotaLedger {
  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
  ) {
    const c = client as Redis & Partial<QuotaCommands>;
    if (!c.llmQuotaReserve) client.defineCommand('llmQuotaReserve', { numberOfKeys: 1, lua: RESERVE });
    if (!c.llmQuotaSettle) client.defineCommand('llmQuotaSettle', { numberOfKeys: 1, lua: SETTLE });
  }

  /** undefined: the entry is missing (reserveSeeded creates it). */
  reserve(ref: LedgerRef, ask: ReserveAsk, ttlMs: number, force = false): Promise<ReserveOutcome | undefined> {
    return this.run(ref, ask, ttlMs, undefined, force);
  }

  /** Creates a missing entry from `seed` (the database's figure), then reserves. */
  async reserveSeeded(
    ref: LedgerRef,
    ask: ReserveAsk,
    ttlMs: number,
    seed: number,
    force = false,
  ): Promise<ReserveOutcome> {
    const outcome = await this.run(ref, ask, ttlMs, seed, force);
    // The script seeds a missing entry whenever a seed is given; this is not expected to happen.
    if (!outcome) throw new Error(`quota entry ${this.key(ref)} missing after seeding`);
    return outcome;
  }

  private async run(
    ref: LedgerRef,
    ask: ReserveAsk,
    ttlMs: number,
    seed: number | undefined,
    force: boolean,
  ): Promise<ReserveOutcome | undefined> {
    const [status, used, reserved, granted] = (
      await this.commands.llmQuotaReserve(
        this.key(ref),
        ask.promptTokens,
        ask.maxTokens,
        ask.quota ?? -1,
        ask.minCompletion,
        seed === undefined ? '' : seed,
        Math.max(60_000, Math.ceil(ttlMs)),
        force ? '1' : '0',
      )
    ).map(Number);
    if (status === -1) return undefined;
    return status === 1 ? { state: 'granted', granted, used, reserved } : { state: 'refused', used, reserved };
  }

  /** false: the entry was missing (nothing changed). */
  async settle(ref: LedgerRef, release: number, counted: number): Promise<boolean> {
    return (await this.commands.llmQuotaSettle(this.key(ref), release, counted)) === 1;
  }

  async read(ref: LedgerRef): Promise<LedgerState | undefined> {
    const [used, reserved] = await this.client.hmget(this.key(ref), 'used', 'reserved');
    if (used === null) return undefined;
    return { used: Number(used), reserved: Number(reserved ?? 0) };
  }

  key(ref: LedgerRef): string {
    return `${this.prefix}quota:{${ref.keyId}}:${ref.periodStart.getTime()}`;
  }

  private get commands(): QuotaCommands {
    return this.client as unknown as QuotaCommands;
  }
}
