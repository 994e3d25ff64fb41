import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { ReadinessRegistry } from '../common/lifecycle/readiness.registry';

/** A RedisService with REDIS_URL set: its client exists (narrowed by `isConfigured()`). */
export type ConfiguredRedis = RedisService & { readonly client: Redis };

/**
 * The one shared Redis connection (when REDIS_URL is set). Commands fail fast while it is down
 * (no offline queue), so callers fall back to their in-process state instead of waiting; it
 * reconnects by itself and `available` turns true again.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  readonly client?: Redis;
  private wasReady = false;
  private readonly listeners: ((available: boolean) => void)[] = [];

  constructor(config: AppConfig, readiness: ReadinessRegistry) {
    if (!config.redisUrl) return;
    this.client = new Redis(config.redisUrl, {
      lazyConnect: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      commandTimeout: 1_000,
      retryStrategy: (attempt) => Math.min(100 * attempt, 2_000),
    });
    this.client.on('ready', () => this.setAvailable(true));
    this.client.on('close', () => this.setAvailable(false));
    this.client.on('error', (err) => {
      if (this.wasReady) this.logger.warn(`Redis error: ${err.message}`);
    });
    // Redis down degrades (in-process limits, PostgreSQL cache) but does not stop serving, so it
    // must not fail readiness: a 503 would take every replica out of the load balancer at once.
    readiness.register('redis', async () => ({
      up: true,
      connected: this.available,
      mode: this.available ? 'shared' : 'degraded: in-process fallback',
    }));
  }

  get configured(): boolean {
    return this.client !== undefined;
  }

  isConfigured(): this is ConfiguredRedis {
    return this.client !== undefined;
  }

  get available(): boolean {
    return this.client?.status === 'ready';
  }

  onAvailabilityChange(listener: (available: boolean) => void): void {
    this.listeners.push(listener);
  }

  private setAvailable(v: boolean): void {
    if (v === this.wasReady) return;
    this.wasReady = v;
    if (!v) this.logger.warn('Redis connection lost: serving with in-process fallbacks until it is back');
    else this.logger.log('Redis connected');
    for (const l of this.listeners) l(v);
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.client) return;
    this.client.removeAllListeners('error');
    this.client.on('error', () => undefined);
    // quit() waits for a connection that may never come; disconnect() also stops reconnecting.
    if (this.available) await this.client.quit().catch(() => undefined);
    this.client.disconnect(false);
  }
}
