import { Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { METRICS_PATH, RequestObserver } from './request-observer';

/**
 * Prometheus metrics and the per-request log line. Global: the pipeline, cache, limits and
 * providers inject MetricsService without importing this module. prom-client's default metrics
 * are collected into our own registry (see defineMetrics), not the library's global one.
 */
@Global()
@Module({
  imports: [PrometheusModule.register({ controller: MetricsController, path: METRICS_PATH, defaultMetrics: { enabled: false } })],
  providers: [MetricsService, RequestObserver],
  exports: [MetricsService],
})
export class MetricsModule {}
