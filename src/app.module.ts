import { DynamicModule, Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { destination } from 'pino';
import { CoreModule } from './common/core.module';
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
import { InferenceModule } from './inference/inference.module';
import { ApiModule } from './api/api.module';
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
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.logLevel,
            redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'], remove: true },
            // Asynchronous writes: a slow stdout reader (a container's log pipe) never blocks the event
            // loop; under load, lines queued behind an in-flight write go out together.
            stream: destination({ dest: 1, sync: false }),
          },
          // No per-request middleware: the request observer writes each request's line itself
          // (with the route, key and model), and a pino-http child logger per request plus its
          // AsyncLocalStorage cost more than the rest of a cache hit.
          forRoutes: [],
        }),
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
        InferenceModule,
        ApiModule,
        UiModule,
      ],
    };
  }
}
