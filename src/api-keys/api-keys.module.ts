import { Module } from '@nestjs/common';
import { ApiKeyCache } from './api-key.cache';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';
import { KeyChangeListener } from './key-change.listener';
import { LastUsedTracker } from './last-used.tracker';

@Module({
  controllers: [ApiKeysController],
  providers: [ApiKeysRepository, ApiKeysService, ApiKeyCache, KeyChangeListener, LastUsedTracker],
  exports: [ApiKeysService],
})
export class ApiKeysModule {}
