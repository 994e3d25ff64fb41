import { DynamicModule, Global, Module } from '@nestjs/common';
import { CoreModule } from './common/core.module';
import { LoggingModule } from './common/logging/logging.module';
import { AppConfig } from './config/app-config';
import { DatabaseModule } from './database/database.module';
import { ResolvedDatabase } from './database/resolved-database';
import { HealthModule } from './health/health.module';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { RedisModule } from './redis/redis.module';
import { ThrottlingModule } from './throttling/throttling.module';
import { QuotaModule } from './quota/quota.module';
import { UsageModule } from './usage/usage.module';
import { MetricsModule } from './metrics/metrics.module';
import { InferenceLogModule } from './usage/inference-log.module';
import { CacheModule } from './cache/cache.module';
import { ModelsModule } from './models/models.module';
import { GatewayModule } from './gateway/gateway.module';
import { UiModule } from './ui/ui.module';

@Global()
@Module({})
class RuntimeModule {
  static with(config: AppConfig, db: ResolvedDatabase): DynamicModule {
    return {
      module: RuntimeModule,
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: ResolvedDatabase, useValue: db },
      ],
      exports: [AppConfig, ResolvedDatabase],
    };
  }
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, db: ResolvedDatabase): DynamicModule {
    return {
      module: AppModule,
      imports: [
        RuntimeModule.with(config, db),
        LoggingModule.forRoot(config.logLevel),
        DatabaseModule,
        CoreModule,
        HealthModule,
        RedisModule,
        ApiKeysModule,
        ThrottlingModule,
        QuotaModule,
        UsageModule,
        MetricsModule,
        InferenceLogModule,
        CacheModule,
        ModelsModule,
        GatewayModule,
        UiModule,
      ],
    };
  }
}
