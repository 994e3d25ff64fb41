import { Module } from '@nestjs/common';
import { RateLimiter } from './rate-limiter';

/** Per-key request and token rate limits (RedisModule, AppConfig and readiness are global). */
@Module({ providers: [RateLimiter], exports: [RateLimiter] })
export class ThrottlingModule {}
