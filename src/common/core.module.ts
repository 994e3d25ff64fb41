import { Global, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AllExceptionsFilter } from './errors/all-exceptions.filter';
import { FlushRegistry } from './lifecycle/flush.registry';
import { ReadinessRegistry } from './lifecycle/readiness.registry';

/**
 * Shared primitives every module may use: the error filter (one shape for every error), the
 * registries that shutdown and /readyz walk. Registered once here so that tests building the app
 * get exactly the production pipeline. The auth guard is registered by ApiKeysModule.
 */
@Global()
@Module({
  providers: [FlushRegistry, ReadinessRegistry, { provide: APP_FILTER, useClass: AllExceptionsFilter }],
  exports: [FlushRegistry, ReadinessRegistry],
})
export class CoreModule {}
