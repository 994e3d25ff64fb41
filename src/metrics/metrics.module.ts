import { Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { CacheModule } from '../cache/cache.module';
import { ModelsModule } from '../models/models.module';
import { QuotaModule } from '../quota/quota.module';
import { ThrottlingModule } from '../throttling/throttling.module';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { ObservabilityWiring } from './observability.wiring';
import { METRICS_PATH, RequestObserver } from './request-observer';

/**
 * Prometheus metrics and the per-request log line. Global: the pipeline, cache, limits and
 * providers inject MetricsService without importing this module. prom-client's default metrics
 * are collected into our own registry (see defineMetrics), not the library's global one.
 */
@Global()
@Module({
  imports: [
    PrometheusModule.register({
      controller: MetricsController,
      path: METRICS_PATH,
      defaultMetrics: { enabled: false },
    }),
    // What ObservabilityWiring connects to the metrics.
    ModelsModule,
    CacheModule,
    ThrottlingModule,
    QuotaModule,
  ],
  providers: [MetricsService, RequestObserver, ObservabilityWiring],
  exports: [MetricsService],
})
export class MetricsModule {}
