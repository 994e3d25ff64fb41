/**
 * In-process micro-benchmark of CompletionCache.run on L1 hits (no HTTP): ops/s and latency
 * percentiles per hit, against a bypass run of a trivial compute function (the floor the cache
 * adds to) and the key computation alone. PostgreSQL is stubbed: a hit must not touch it.
 *
 *   node -r ./scripts/swc-register.js bench/cache/hits.ts [--seconds 3] [--redis redis://127.0.0.1:6379]
 */
import { randomBytes } from 'node:crypto';
import { CacheEvictor } from '../../src/cache/cache-evictor';
import { cacheKey } from '../../src/cache/cache-key';
import { CacheStats } from '../../src/cache/cache-stats';
import { CacheClock, CacheTuning } from '../../src/cache/cache-tuning';
import { CompletionCache, type CacheRequest, type ComputeFn } from '../../src/cache/completion-cache.service';
import type { CompletionCacheRepository } from '../../src/cache/completion-cache.repository';
import { HitRecorder } from '../../src/cache/hit-recorder';
import { type L1Store } from '../../src/cache/l1/l1-store';
import { MemoryL1Store } from '../../src/cache/l1/memory-l1.store';
import { RedisFlightLock } from '../../src/cache/l1/redis-flight-lock';
import { RedisL1Store } from '../../src/cache/l1/redis-l1.store';
import { FlushRegistry } from '../../src/common/lifecycle/flush.registry';
import { loadConfig } from '../../src/config/app-config';
import { ReadinessRegistry } from '../../src/common/lifecycle/readiness.registry';
import type { StreamEvent } from '../../src/models/provider.interface';
import { RedisService } from '../../src/redis/redis.service';

const argv = process.argv.slice(2);
const arg = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const seconds = Number(arg('seconds') ?? 3);
const redisUrl = arg('redis');

let dbCalls = 0;
const repo = {
  find: async () => (dbCalls++, undefined),
  upsert: async () => void dbCalls++,
  recordHits: async () => void dbCalls++,
  sweep: async () => null,
  purge: async () => 0,
} as unknown as CompletionCacheRepository;

const TEXT = 'The quick brown fox jumps over the lazy dog. '.repeat(20);
const compute: ComputeFn = async function* () {
  yield { type: 'delta', text: TEXT } as StreamEvent;
  yield { type: 'done', finishReason: 'stop', usage: { promptTokens: 12, completionTokens: 200 } } as StreamEvent;
};

/** A new request object per call, as the pipeline builds one per HTTP request. */
const request = (): CacheRequest => ({
  model: 'tiny',
  version: 'sha256:0123456789abcdef',
  messages: [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Tell me something about foxes and dogs, in one paragraph.' },
  ],
  params: { maxTokens: 256, temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, stop: [] },
});

async function build(): Promise<{ cache: CompletionCache; close: () => Promise<void>; tier: string }> {
  const config = loadConfig({ DATABASE_URL: 'postgres://unused/x', REDIS_URL: redisUrl, LOG_LEVEL: 'silent' });
  const tuning = new CacheTuning();
  tuning.redisPrefix = `bench:cache:${randomBytes(4).toString('hex')}:`;
  const clock = new CacheClock();
  const stats = new CacheStats();
  const flushes = new FlushRegistry();
  let l1: L1Store = new MemoryL1Store(config.cache.l1MaxBytes);
  let lock: RedisFlightLock | null = null;
  let redis: RedisService | undefined;
  if (redisUrl) {
    const service = new RedisService(config, new ReadinessRegistry());
    redis = service;
    const until = Date.now() + 3_000;
    while (!service.available && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    if (!service.isConfigured()) throw new Error('REDIS_URL is set but Redis is not configured');
    const store = new RedisL1Store(service, tuning);
    l1 = store;
    lock = new RedisFlightLock(service, store, tuning);
  }
  const hits = new HitRecorder(repo, tuning);
  const evictor = new CacheEvictor(repo, config, tuning, clock, stats);
  const cache = new CompletionCache(config, l1, lock, repo, hits, evictor, clock, stats, flushes);
  return {
    cache,
    tier: redisUrl ? 'redis' : 'memory',
    close: async () => {
      if (redis) {
        const keys = await redis.client!.keys(`${tuning.redisPrefix}*`);
        if (keys.length) await redis.client!.del(...keys);
        await redis.onApplicationShutdown();
      }
    },
  };
}

async function loop(name: string, op: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 2_000; i++) await op();
  const samples: number[] = [];
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  while (performance.now() < end) {
    const t = performance.now();
    await op();
    samples.push(performance.now() - t);
  }
  const elapsed = (performance.now() - started) / 1000;
  samples.sort((a, b) => a - b);
  const us = (q: number) => (1000 * samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]).toFixed(1);
  console.log(
    `${name.padEnd(28)} ${Math.round(samples.length / elapsed)
      .toString()
      .padStart(9)} ops/s   p50 ${us(0.5).padStart(7)} µs   p99 ${us(0.99).padStart(7)} µs`,
  );
}

async function consume(events: AsyncIterable<StreamEvent>): Promise<void> {
  for await (const e of events) if (e.type === 'done') break;
}

async function main(): Promise<void> {
  const { cache, close, tier } = await build();
  const seed = await cache.run(request(), compute);
  await consume(seed.events);
  await cache.drain();
  const probe = await cache.run(request(), compute);
  if (probe.source !== 'hit') throw new Error(`expected an L1 hit, got ${probe.source}`);
  await consume(probe.events);
  const before = dbCalls;
  console.log(`L1 = ${tier}; ${seconds}s per line; answer ${TEXT.length} chars\n`);
  await loop('cacheKey() alone', async () => cacheKey(request()));
  await loop('bypass (compute, no cache)', async () => {
    const r = await cache.run({ ...request(), cacheControl: 'no-store' }, compute);
    await consume(r.events);
  });
  await loop(`run() L1 hit (${tier})`, async () => {
    const r = await cache.run(request(), compute);
    await consume(r.events);
  });
  console.log(`\nPostgreSQL calls during the hit loops: ${dbCalls - before} (must be 0)`);
  await close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
