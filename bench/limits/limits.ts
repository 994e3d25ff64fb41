/**
 * Figures for docs/limits.md: the cost of one limit decision and one quota reserve + settle per
 * mode, and the admin usage queries over a million usage_daily rows. Uses a database of its own
 * (created and dropped on DATABASE_URL's server).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 \
 *     node -r ./scripts/swc-register.js bench/limits/limits.ts [--rows 1000000]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { FlushRegistry } from '../../src/common/lifecycle/flush.registry';
import { loadConfig } from '../../src/config/app-config';
import { buildDataSourceOptions } from '../../src/database/data-source-options';
import { ReadinessRegistry } from '../../src/common/lifecycle/readiness.registry';
import { QuotaRepository } from '../../src/quota/quota.repository';
import { QuotaService } from '../../src/quota/quota.service';
import { RedisService } from '../../src/redis/redis.service';
import { RateLimiter } from '../../src/throttling/rate-limiter';
import { UsageRepository } from '../../src/usage/usage.repository';

Logger.overrideLogger(false);
const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.REDIS_URL;
const rowsArg = process.argv.indexOf('--rows');
const ROWS = rowsArg > 0 ? Number(process.argv[rowsArg + 1]) : 1_000_000;

async function timeIt(
  label: string,
  n: number,
  concurrency: number,
  op: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lat: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const s = performance.now();
        await op(i);
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const p = (q: number) => lat[Math.floor(q * (lat.length - 1))].toFixed(3);
  console.log(
    `${label.padEnd(52)} ${Math.round(n / secs)
      .toString()
      .padStart(8)} ops/s   p50 ${p(0.5)} ms   p99 ${p(0.99)} ms`,
  );
}

async function main(): Promise<void> {
  const name = `llm_bench_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const ds = new DataSource(buildDataSourceOptions(url.toString(), 10));
  await ds.initialize();
  try {
    await ds.runMigrations();
    const keyIds = Array.from({ length: 2000 }, () => randomUUID());
    await ds.query(
      `INSERT INTO api_keys (id, label, role, key_hash, key_prefix)
       SELECT id, 'bench', 'user', decode(md5(id::text), 'hex'), 'sk-bench' FROM unnest($1::uuid[]) id`,
      [keyIds],
    );
    const modes: [string, Record<string, string>][] = [['in-process', {}]];
    if (redisUrl)
      modes.push(['Redis', { REDIS_URL: redisUrl }], ['PostgreSQL (Redis down)', { REDIS_URL: 'redis://127.0.0.1:1' }]);
    for (const [mode, env] of modes) {
      const config = loadConfig({
        NODE_ENV: 'test',
        DATABASE_URL: url.toString(),
        QUOTA_TOKENS_USER: '1000000000',
        RATE_LIMIT_RPM_USER: '1000000000',
        RATE_LIMIT_TPM_USER: '1000000000',
        ...env,
      });
      const readiness = new ReadinessRegistry();
      const redis = new RedisService(config, readiness);
      const up = Date.now();
      while (env.REDIS_URL && !env.REDIS_URL.endsWith(':1') && !redis.available && Date.now() - up < 3000)
        await new Promise((r) => setTimeout(r, 20));
      const prefix = `llmbench:${randomBytes(3).toString('hex')}:`;
      const limiter = new RateLimiter(config, redis, readiness, { prefix });
      const quota = new QuotaService(config, new QuotaRepository(ds), redis, readiness, new FlushRegistry(), {
        prefix,
      });
      const key = (i: number) => ({
        id: keyIds[i % 100],
        label: 'b',
        role: 'user' as const,
        quotaTokens: null,
        rpm: null,
        tpm: null,
        allowedModels: null,
      });
      if (mode !== 'PostgreSQL (Redis down)') {
        await timeIt(`[${mode}] limiter checkRequest + reserve/settle tokens`, 20_000, 32, async (i) => {
          await limiter.checkRequest(key(i));
          await limiter.settleTokens(await limiter.reserveTokens(key(i), 300), 120);
        });
      }
      const n = mode.startsWith('PostgreSQL') ? 2_000 : 20_000;
      await timeIt(`[${mode}] quota reserve + settle`, n, 32, async (i) => {
        await quota.settle(await quota.reserve(key(i), 100, 200), { promptTokens: 100, completionTokens: 50 });
      });
      await quota.flush();
      await redis.onApplicationShutdown();
    }

    const days = Math.ceil(ROWS / (keyIds.length * 5));
    const t0 = performance.now();
    await ds.query(
      `INSERT INTO usage_daily (day, key_id, model, requests, prompt_tokens, completion_tokens, cached_requests)
       SELECT current_date - d, k, 'model-' || m, 10, 1000 + m, 500 + d, 1
       FROM generate_series(0, $1 - 1) d, unnest($2::uuid[]) k, generate_series(1, 5) m`,
      [days, keyIds],
    );
    await ds.query(`ANALYZE usage_daily`);
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM usage_daily`);
    console.log(
      `usage_daily: ${n} rows (${days} days x ${keyIds.length} keys x 5 models) loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const repo = new UsageRepository(ds);
    const day = (back: number) => new Date(Date.now() - back * 86_400_000).toISOString().slice(0, 10);
    const q = async (label: string, fn: () => Promise<unknown>) => {
      await fn();
      const s = performance.now();
      for (let i = 0; i < 5; i++) await fn();
      console.log(`${label.padEnd(52)} ${((performance.now() - s) / 5).toFixed(1).padStart(8)} ms`);
    };
    await q('GET /admin/keys/{id}/usage (by day, 30 days)', () => repo.keyByDay(keyIds[7], day(29), day(0)));
    await q('GET /admin/keys/{id}/usage (by model, 30 days)', () => repo.keyByModel(keyIds[7], day(29), day(0)));
    await q('GET /admin/usage?group_by=model (30 days)', () => repo.aggregate('model', day(29), day(0), 1000));
    await q('GET /admin/usage?group_by=key (30 days)', () => repo.aggregate('key', day(29), day(0), 1000));
    await q('GET /admin/usage?group_by=day (30 days)', () => repo.aggregate('day', day(29), day(0), 1000));
    await q('GET /admin/usage?group_by=model (7 days)', () => repo.aggregate('model', day(6), day(0), 1000));
  } finally {
    await ds.destroy();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
