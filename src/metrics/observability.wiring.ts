import { Injectable } from '@nestjs/common';
import { CacheStats } from '../cache/cache-stats';
import { FlushRegistry } from '../common/lifecycle/flush.registry';
import { ModelsService } from '../models/models.service';
import type { ModelInfo, UpstreamOutcome } from '../models/registry';
import type { FailedUpstreamOutcome } from '../models/upstream-outcome';
import { MetricsService } from './metrics.service';
import { QuotaService } from '../quota/quota.service';
import { RateLimiter } from '../throttling/rate-limiter';

/**
 * Connects the capabilities' hooks to the metrics: engines (batch size, queue depth),
 * upstream outcomes, model health, cache lookups, limit and quota rejections, write-behind drops. Instantiated
 * before any module initialises, so models loaded at start are observed too.
 */
@Injectable()
export class ObservabilityWiring {
  constructor(
    metrics: MetricsService,
    models: ModelsService,
    cache: CacheStats,
    limiter: RateLimiter,
    quota: QuotaService,
    flushes: FlushRegistry,
  ) {
    models.setObservers({
      engineHooks: (model) => ({
        onBatch: (n) => metrics.batchSize(model, n),
        onQueueDepth: (n) => metrics.queueDepth(model, n),
      }),
      onUpstreamOutcome: (model, o) => {
        const outcome = upstreamOutcome(o);
        if (outcome) metrics.upstreamOutcome(model, outcome);
      },
      onUpstreamRetry: (model) => metrics.upstreamOutcome(model, 'retry'),
      onModelsChanged: (list) => {
        metrics.setKnownModels(list.map((m) => m.id));
        modelHealth(metrics, list);
      },
    });
    // Reachability and breakers change between reloads: sampled at each scrape (a remote
    // model's health probe is cached and time-bounded, so a scrape never waits long on it).
    metrics.onScrape(async () => modelHealth(metrics, await models.list()));
    cache.addHook({ onLookup: (tier, result) => metrics.cacheLookup(tier, result) });
    limiter.onRejected((kind) => metrics.rateLimited(kind));
    quota.onRejected(() => metrics.quotaExhausted());
    // Write-behind buffers count their drops in common/; the metric reads them at scrape time.
    metrics.onScrape(() => {
      for (const d of flushes.dropCounts()) metrics.writeBehindDropped(d.what, d.reason, d.total);
    });
  }
}

/** `model_up` from the load state and, for a remote model, its health probe; the breaker's state. */
function modelHealth(metrics: MetricsService, list: ModelInfo[]): void {
  for (const m of list) {
    metrics.setModelUp(m.id, m.up);
    if (m.breaker) metrics.setCircuitState(m.id, m.breaker.state);
  }
}

function upstreamOutcome(o: UpstreamOutcome): 'success' | FailedUpstreamOutcome | null {
  if (o.status === 'ok') return 'success';
  if (o.status === 'aborted') return null; // the client left: not the upstream's doing
  return o.failure ?? 'error';
}
