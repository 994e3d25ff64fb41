import { Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from '../api-keys/api-key.guard';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { AllExceptionsFilter } from './errors/all-exceptions.filter';
import { FlushRegistry } from './lifecycle/flush.registry';

/**
 * The request pipeline's cross-cutting pieces, registered once here so that tests building the
 * app get exactly the production pipeline.
 */
@Global()
@Module({
  imports: [ApiKeysModule],
  providers: [
    FlushRegistry,
    { provide: APP_FILTER, useClass: AllExceptionsFilter },
    { provide: APP_GUARD, useClass: ApiKeyGuard },
  ],
  exports: [FlushRegistry],
})
export class CoreModule {}
