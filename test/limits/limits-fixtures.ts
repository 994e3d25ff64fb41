import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import type { AuthenticatedKey } from '../../src/api-keys/authenticated-key';
import { type ApiError } from '../../src/common/errors/api-error';
import { FlushRegistry } from '../../src/common/lifecycle/flush.registry';
import { type AppConfig, loadConfig } from '../../src/config/app-config';
import { buildDataSourceOptions } from '../../src/database/data-source-options';
import { ReadinessRegistry } from '../../src/common/lifecycle/readiness.registry';
import { type QuotaReservation } from '../../src/quota/quota-reservation';
import { QuotaRepository } from '../../src/quota/quota.repository';
import { QuotaService } from '../../src/quota/quota.service';
import { type QuotaOptions } from '../../src/quota/quota.options';
import { RedisService } from '../../src/redis/redis.service';
import { RateLimiter } from '../../src/throttling/rate-limiter';
import { type RateLimiterOptions } from '../../src/throttling/rate-limiter.options';
import { createTestDatabase, queryDb } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';

// The services log outages on purpose; the tests assert on them instead.
Logger.overrideLogger(false);

export const REDIS_URL = process.env.REDIS_URL;
/** Redis-only tests run where REDIS_URL is set (CI always sets it). */
export const withRedis = REDIS_URL ? it : it.skip;

export function testConfig(env: Record<string, string> = {}): AppConfig {
  return loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: 'postgres://unused', ...env });
}

export function testKey(over: Partial<AuthenticatedKey> = {}): AuthenticatedKey {
  return {
    id: randomUUID(),
    label: 'test',
    role: 'user',
    quotaTokens: null,
    rpm: null,
    tpm: null,
    allowedModels: null,
    ...over,
  };
}

export const uniquePrefix = () => `llmtest:${randomBytes(4).toString('hex')}:`;

/** A migrated database of our own, shared by the "replicas" a test builds. */
export async function migratedDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const db = await createTestDatabase();
  const ds = new DataSource(buildDataSourceOptions(db.url, 2));
  await ds.initialize();
  await ds.runMigrations({ transaction: 'each' });
  await ds.destroy();
  return db;
}

/** Inserts api_keys rows (the ledger's foreign keys need them). */
export async function insertKeys(dbUrl: string, keys: AuthenticatedKey[]): Promise<void> {
  for (const k of keys) {
    await queryDb(
      dbUrl,
      `INSERT INTO api_keys (id, label, role, key_hash, key_prefix) VALUES ($1, $2, $3, $4, 'sk-test')`,
      [k.id, k.label, k.role, randomBytes(32)],
    );
  }
}

/** One "replica" of the limits stack: its own pool, Redis connection and in-process state. */
export class Replica {
  readonly readiness = new ReadinessRegistry();
  readonly flushes = new FlushRegistry();
  readonly redis: RedisService;
  private ds?: DataSource;
  quota!: QuotaService;
  limiter!: RateLimiter;

  private constructor(readonly config: AppConfig) {
    this.redis = new RedisService(config, this.readiness);
  }

  static async start(
    env: Record<string, string>,
    opts: { dbUrl?: string; quota?: QuotaOptions; limiter?: RateLimiterOptions; redisDown?: boolean } = {},
  ): Promise<Replica> {
    const r = new Replica(testConfig(env));
    if (opts.dbUrl) {
      r.ds = new DataSource(buildDataSourceOptions(opts.dbUrl, 5));
      await r.ds.initialize();
      // No write-behind timer: the tests call quota.flush() where they need the rows, and stop()
      // runs the one shutdown flush, so nothing is written at a moment a test did not choose.
      r.quota = new QuotaService(r.config, new QuotaRepository(r.ds), r.redis, r.readiness, r.flushes, opts.quota);
    }
    r.limiter = new RateLimiter(r.config, r.redis, r.readiness, opts.limiter);
    if (env.REDIS_URL && !opts.redisDown) await waitFor('Redis', () => r.redis.available, { timeoutMs: 3000 });
    return r;
  }

  private stopped?: Promise<void>;

  stop(): Promise<void> {
    return (this.stopped ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    await this.flushes.flushAll(); // the app's shutdown flush (src/app.factory.ts)
    this.quota?.onModuleDestroy();
    await this.redis.onApplicationShutdown();
    await this.ds?.destroy();
  }
}

/** Deletes every Redis key under a test prefix. */
export async function cleanRedis(prefix: string, url = REDIS_URL): Promise<void> {
  if (!url) return;
  const c = new Redis(url, { lazyConnect: true });
  await c.connect();
  const keys = await c.keys(`${prefix}*`);
  if (keys.length) await c.del(...keys);
  c.disconnect();
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** A Redis server of the test's own, to stop and start mid-test. */
export class OwnRedis {
  private proc?: ChildProcess;
  private constructor(
    readonly port: number,
    /** With a directory, data survives a kill (append-only file, fsync always). */
    private readonly dir?: string,
  ) {}

  static async start(opts: { persist?: boolean } = {}): Promise<OwnRedis> {
    const r = new OwnRedis(await freePort(), opts.persist ? mkdtempSync(join(tmpdir(), 'llm-redis-')) : undefined);
    await r.resume();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async resume(): Promise<void> {
    const persistence = this.dir
      ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir]
      : ['--appendonly', 'no'];
    this.proc = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--daemonize', 'no'],
      {
        stdio: 'ignore',
      },
    );
    const probe = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null, enableOfflineQueue: false });
    probe.on('error', () => undefined);
    await waitFor(
      'redis-server to start',
      async () =>
        probe.connect().then(
          () => true,
          () => false,
        ),
      { timeoutMs: 5000 },
    );
    probe.disconnect();
  }

  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  }

  async stop(): Promise<void> {
    await this.kill();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** 50 concurrent reserve → settle cycles; returns what was counted. */
export async function raceCycles(
  services: QuotaService[],
  key: AuthenticatedKey,
  n = 50,
): Promise<{ counted: number; served: number; refused: number }> {
  let counted = 0;
  let refused = 0;
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const quota = services[i % services.length];
      let r: QuotaReservation;
      try {
        r = await quota.reserve(key, 10, 40);
      } catch (err) {
        if ((err as ApiError).code !== 'quota_exhausted') throw err;
        refused++;
        return;
      }
      await new Promise((res) => setTimeout(res, randomInt(5)));
      const completion = i % 7 === 0 ? 0 : randomInt(r.maxTokens + 1);
      if (i % 7 === 0) await quota.release(r);
      else await quota.settle(r, { promptTokens: 10, completionTokens: completion });
      if (i % 7 !== 0) counted += 10 + completion;
    }),
  );
  return { counted, served: n - refused, refused };
}
