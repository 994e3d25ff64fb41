import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { RedisService } from '../redis/redis.service';
import { CacheController } from './cache.controller';
import { CacheEvictor } from './cache-evictor';
import { CacheStats } from './cache-stats';
import { CacheClock, CacheTuning } from './cache-tuning';
import { CompletionCache, FLIGHT_LOCK } from './completion-cache.service';
import { CompletionCacheRepository } from './completion-cache.repository';
import { HitRecorder } from './hit-recorder';
import { L1Store } from './l1/l1-store';
import { MemoryL1Store } from './l1/memory-l1.store';
import { RedisFlightLock } from './l1/redis-flight-lock';
import { RedisL1Store } from './l1/redis-l1.store';

@Module({
  controllers: [CacheController],
  providers: [
    CacheClock,
    CacheTuning,
    CacheStats,
    CompletionCacheRepository,
    HitRecorder,
    CacheEvictor,
    CompletionCache,
    {
      // Redis when configured (even while it is down: then L1 is skipped, L2 answers).
      provide: L1Store,
      inject: [AppConfig, RedisService, CacheTuning],
      useFactory: (config: AppConfig, redis: RedisService, tuning: CacheTuning): L1Store =>
        redis.isConfigured() ? new RedisL1Store(redis, tuning) : new MemoryL1Store(config.cache.l1MaxBytes),
    },
    {
      provide: FLIGHT_LOCK,
      inject: [L1Store, CacheTuning],
      useFactory: (l1: L1Store, tuning: CacheTuning) =>
        l1 instanceof RedisL1Store ? new RedisFlightLock(l1.redis, l1, tuning) : null,
    },
  ],
  exports: [CompletionCache, CacheStats, CacheClock, CacheTuning],
})
export class CacheModule {}
