import { Logger } from '@nestjs/common';
import type { RedisService } from '../redis/redis.service';
import { LocalQuotaLedger } from './quota-ledger.local';
import { RedisQuotaLedger } from './quota-ledger.redis';
import { type LedgerRef, type LedgerState, refKey, type ReserveAsk, type ReserveOutcome } from './quota-ledger.types';
import { type QuotaMode, type QuotaReservation } from './quota-reservation';
import { type QuotaRepository } from './quota.repository';
import { type QuotaWriteBehind } from './quota-write-behind';

/** A Redis entry outlives its period by a day (late settles still find it). */
export const ENTRY_GRACE_MS = 86_400_000;

/**
 * Picks the ledger for each decision and moves state when Redis goes away or comes back:
 * - redis: Lua scripts; settled usage is also written behind to PostgreSQL;
 * - postgres (Redis configured but down): one atomic statement per decision. Entering it, this
 *   replica flushes its pending usage and re-registers its in-flight Redis reservations in
 *   PostgreSQL, so the database sees everything this replica holds;
 * - back to redis: what Redis missed (usage settled in PostgreSQL, reservations released there)
 *   is applied to the Redis entries, and in-flight PostgreSQL reservations move back;
 * - local: no Redis configured, one replica.
 */
export class QuotaLedgers {
  private readonly logger = new Logger('QuotaLedgers');
  readonly local = new LocalQuotaLedger();
  /** Present exactly when Redis is configured; `state` says which store decides meanwhile. */
  private readonly shared?: { ledger: RedisQuotaLedger; state: 'redis' | 'postgres' };
  private readonly open = new Set<QuotaReservation>();
  /** Changes the Redis ledger missed while it was unreachable, per key and period. */
  private readonly owed = new Map<string, { ref: LedgerRef; release: number; counted: number }>();
  private chainTail: Promise<void> = Promise.resolve();
  private lastReturnAttempt = 0;

  constructor(
    private readonly repo: QuotaRepository,
    readonly writeBehind: QuotaWriteBehind,
    private readonly redis: RedisService,
    prefix: string,
  ) {
    if (!redis.client) return;
    this.shared = { ledger: new RedisQuotaLedger(redis.client, prefix), state: redis.available ? 'redis' : 'postgres' };
    redis.onAvailabilityChange((up) => void (up ? this.enterRedis() : this.enterPostgres()));
  }

  get mode(): QuotaMode {
    return this.shared?.state ?? 'local';
  }

  /** `ttlMs`: how long a new Redis entry lives (past the period's end). */
  async reserve(
    ref: LedgerRef,
    ask: ReserveAsk,
    ttlMs: number,
  ): Promise<{ outcome: ReserveOutcome; store: QuotaMode }> {
    await this.settledMode();
    const shared = this.shared;
    if (!shared) {
      const entry = await this.local.entry(ref, () => this.seed(ref));
      return { outcome: this.local.reserve(entry, ask), store: 'local' };
    }
    if (shared.state === 'redis') {
      try {
        const outcome =
          (await shared.ledger.reserve(ref, ask, ttlMs)) ??
          (await shared.ledger.reserveSeeded(ref, ask, ttlMs, await this.seed(ref)));
        return { outcome, store: 'redis' };
      } catch (err) {
        this.logger.warn(`quota ledger falling back to PostgreSQL: ${(err as Error).message}`);
        await this.enterPostgres();
      }
    }
    return { outcome: await this.repo.reserve(ref, ask), store: 'postgres' };
  }

  /** Tracks an in-flight reservation so a mode change can move it. */
  async track(r: QuotaReservation): Promise<void> {
    if (r.store === 'local') return;
    this.open.add(r);
    // Granted by Redis just as it went away: register it with PostgreSQL like the others.
    if (r.store === 'redis' && this.mode === 'postgres') await this.chain(() => this.moveToPostgres(r));
  }

  async settle(r: QuotaReservation, counted: number): Promise<void> {
    await this.chainTail;
    this.open.delete(r);
    const ref = r.ref;
    // A reservation is `local` exactly when no Redis is configured.
    if (r.store === 'local' || !this.shared) {
      this.local.settle(ref, r.reservedTokens, counted);
      this.writeBehind.add(ref, counted);
    } else if (r.store === 'postgres') {
      await this.repo.settle(ref, r.reservedTokens, counted);
      this.owe(ref, 0, counted);
    } else {
      this.writeBehind.add(ref, counted);
      try {
        await this.shared.ledger.settle(ref, r.reservedTokens, counted);
      } catch {
        this.owe(ref, r.reservedTokens, counted);
        void this.enterPostgres();
      }
    }
  }

  /** The live state of a key's period (nothing is written). */
  async read(ref: LedgerRef): Promise<LedgerState> {
    await this.settledMode();
    const shared = this.shared;
    if (!shared) return LocalQuotaLedger.state(await this.local.entry(ref, () => this.seed(ref)));
    if (shared.state === 'redis') {
      try {
        return (await shared.ledger.read(ref)) ?? { used: await this.seed(ref), reserved: 0 };
      } catch {
        /* fall through to the database */
      }
    }
    // Under the flush lock: a batch being written is neither pending nor in the database yet.
    return this.writeBehind.exclusive(async () => {
      const s = await this.repo.read(ref);
      return { used: s.used + this.writeBehind.pendingFor(ref), reserved: s.reserved };
    });
  }

  /** Database value plus what this replica has not written yet, read under the flush lock. */
  private seed(ref: LedgerRef): Promise<number> {
    return this.writeBehind.exclusive(async () => (await this.repo.read(ref)).used + this.writeBehind.pendingFor(ref));
  }

  private async settledMode(): Promise<void> {
    await this.chainTail;
    if (this.shared?.state === 'postgres' && this.redis.available && Date.now() - this.lastReturnAttempt > 1_000)
      await this.enterRedis();
  }

  private chain(job: () => Promise<void>): Promise<void> {
    const run = this.chainTail.then(job);
    this.chainTail = run.catch((err) => this.logger.warn(`quota ledger switch incomplete: ${(err as Error).message}`));
    return this.chainTail;
  }

  enterPostgres(): Promise<void> {
    if (this.shared?.state !== 'redis') return this.chainTail;
    this.shared.state = 'postgres';
    return this.chain(async () => {
      await this.writeBehind.flush();
      for (const r of this.open) if (r.store === 'redis') await this.moveToPostgres(r);
    });
  }

  private async moveToPostgres(r: QuotaReservation): Promise<void> {
    await this.repo.addReserved(r.ref, r.reservedTokens);
    r.store = 'postgres';
    this.owe(r.ref, r.reservedTokens, 0);
  }

  enterRedis(): Promise<void> {
    this.lastReturnAttempt = Date.now();
    return this.chain(async () => {
      const shared = this.shared;
      if (shared?.state !== 'postgres' || !this.redis.available) return;
      await this.writeBehind.flush();
      for (const [k, o] of this.owed) {
        // A missing entry will be seeded from PostgreSQL, which already has all of it.
        await shared.ledger.settle(o.ref, o.release, o.counted);
        this.owed.delete(k);
      }
      for (const r of this.open) {
        if (r.store !== 'postgres') continue;
        const adopt: ReserveAsk = { promptTokens: r.reservedTokens, maxTokens: 0, quota: null, minCompletion: 0 };
        const ttl = r.resetAt.getTime() - Date.now() + ENTRY_GRACE_MS;
        if (!(await shared.ledger.reserve(r.ref, adopt, ttl, true))) {
          await shared.ledger.reserveSeeded(r.ref, adopt, ttl, await this.seed(r.ref), true);
        }
        await this.repo.addReserved(r.ref, -r.reservedTokens);
        r.store = 'redis';
      }
      shared.state = 'redis';
      this.logger.log('quota ledger back on Redis');
    });
  }

  private owe(ref: LedgerRef, release: number, counted: number): void {
    const k = refKey(ref);
    const o = this.owed.get(k) ?? { ref, release: 0, counted: 0 };
    o.release += release;
    o.counted += counted;
    this.owed.set(k, o);
  }
}
