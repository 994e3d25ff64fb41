import { DynamicModule, Global, Module, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { CoreModule } from './common/core.module';
import { AppConfig } from './config/app-config';
import { DatabaseModule } from './database/database.module';
import { ResolvedDatabase } from './database/resolved-database';
import { HealthModule } from './health/health.module';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { RedisModule } from './redis/redis.module';
import { InferenceModule } from './inference/inference.module';
import { ApiModule } from './api/api.module';

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
            customProps: (req) => ({ key_id: (req as { apiKey?: { id: string } }).apiKey?.id }),
            quietReqLogger: true,
          },
          // nestjs-pino's default route pattern never matches on Nest 12 + Fastify.
          forRoutes: [{ path: '{*splat}', method: RequestMethod.ALL }],
        }),
        DatabaseModule,
        CoreModule,
        HealthModule,
        RedisModule,
        ApiKeysModule,
        InferenceModule,
        ApiModule,
      ],
    };
  }
}
