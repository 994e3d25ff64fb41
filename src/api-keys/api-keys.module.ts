import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeyCache } from './api-key.cache';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';
import { KeyChangeListener } from './key-change.listener';
import { LastUsedTracker } from './last-used.tracker';

/**
 * Keys and authentication: the admin API for keys, the key lookup, and the global guard
 * (deny by default: every route needs a key unless it says @Public()).
 */
@Module({
  controllers: [ApiKeysController],
  providers: [
    ApiKeysRepository,
    ApiKeysService,
    ApiKeyCache,
    KeyChangeListener,
    LastUsedTracker,
    { provide: APP_GUARD, useClass: ApiKeyGuard },
  ],
  exports: [ApiKeysService],
})
export class ApiKeysModule {}
