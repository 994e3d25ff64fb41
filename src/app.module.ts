import { DynamicModule, Global, Module, RequestMethod } from '@nestjs/common';
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
            // The id Fastify chose (and echoed in x-request-id) is in the raw headers.
            genReqId: (req) => req.headers['x-request-id'] as string,
            redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'], remove: true },
            // The per-request line comes from MetricsModule's hook, which sees the route, key and model.
            autoLogging: false,
            quietReqLogger: true,
            // Asynchronous writes: a slow stdout reader (a container's log pipe) never blocks the event
            // loop; under load, lines queued behind an in-flight write go out together.
            stream: destination({ dest: 1, sync: false }),
            customAttributeKeys: { reqId: 'request_id' },
          },
          // nestjs-pino's default route pattern never matches on Nest 12 + Fastify.
          forRoutes: [{ path: '{*splat}', method: RequestMethod.ALL }],
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
