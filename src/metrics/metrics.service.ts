import { Injectable } from '@nestjs/common';
import { Counter, Histogram, Registry } from 'prom-client';
import { ErrorCode } from '../common/errors/error-code';
import { UPSTREAM_CLIENT_ERROR_LABEL } from '../common/errors/api-error';
import type { CacheTier, LookupResult } from '../cache/cache-stats';
import { AppConfig } from '../config/app-config';
import type { LimitKind } from '../throttling/rate-limit-headers';
import { defineMetrics, Metrics } from './metric-definitions';
import { ModelLabels, OTHER_MODEL } from './model-labels';
import { PendingCounts } from './pending-counts';

export type UpstreamOutcome = 'success' | 'error' | 'timeout' | 'circuit_open' | 'retry';
export type LogDropReason = 'buffer_full' | 'invalid' | 'shutdown';

/** Error responses that carry no code of ours (e.g. Fastify's own 503 while closing). */
export const UNKNOWN_ERROR_CODE = 'other';

const HTTP_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
// Passed-through upstream client errors count under one label (docs/api.md, upstream errors).
const KNOWN_ERROR_CODES = new Set<string>([...Object.values(ErrorCode), UPSTREAM_CLIENT_ERROR_LABEL]);
const PROVIDERS = new Set(['onnx', 'http', 'cache']);
const CIRCUIT_STATES = { closed: 0, 'half-open': 1, open: 2 } as const;

interface HttpChildren {
  count: Counter.Internal;
  /** Requests since the last scrape (added to `count` then). */
  pending: number;
  duration: Histogram.Internal<'route' | 'method'>;
}

/**
 * Intention-revealing counters for the request pipeline. Every label is bounded: models collapse
 * to `other` unless configured, routes are templates, codes come from one enum.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly m: Metrics;
  private readonly models = new ModelLabels();
  /** Label children by "method route status": the HTTP hook builds no label objects per request. */
  private readonly httpChildren = new Map<string, HttpChildren>();
  private readonly httpDurations = new Map<string, Histogram.Internal<'route' | 'method'>>();
  /** Every known code's child, created up front; anything else counts as `other`. */
  private readonly errorChildren = new Map<string, Counter.Internal>();
  private readonly otherErrors: Counter.Internal;
  private readonly scrapeHooks: (() => void | Promise<void>)[] = [];
  /** In-flight counts by label, so a model removed by a reload keeps its series until it drains. */
  private readonly inflightCounts = new Map<string, number>();
  /** Drops already counted, by "buffer|reason". */
  private readonly writeBehindDrops = new Map<string, number>();
  // Per-request counters, handed to prom-client at scrape time (see PendingCounts).
  private readonly tokens: PendingCounts<'model' | 'kind'>;
  private readonly cacheRequests: PendingCounts<'tier' | 'result'>;
  private readonly upstream: PendingCounts<'model' | 'outcome'>;

  constructor(config: AppConfig) {
    this.m = defineMetrics(this.registry, { perKey: config.observability.metricsPerKey });
    this.tokens = new PendingCounts(this.m.tokens);
    this.cacheRequests = new PendingCounts(this.m.cacheRequests);
    this.upstream = new PendingCounts(this.m.upstream);
    // Zero series up front, so dashboards show 0 rather than "no data" before the first event.
    for (const code of KNOWN_ERROR_CODES) this.errorChildren.set(code, this.m.errors.labels(code));
    this.otherErrors = this.m.errors.labels(UNKNOWN_ERROR_CODE);
    for (const c of [...this.errorChildren.values(), this.otherErrors]) c.inc(0);
    for (const [tier, result] of [
      ['l1', 'hit'],
      ['l1', 'miss'],
      ['l2', 'hit'],
      ['l2', 'miss'],
      ['none', 'bypass'],
    ]) {
      this.m.cacheRequests.inc({ tier, result }, 0);
    }
    this.m.rateLimited.inc({ limit: 'requests' }, 0);
    this.m.rateLimited.inc({ limit: 'tokens' }, 0);
    this.m.quotaExhausted.inc(0);
    for (const reason of ['buffer_full', 'invalid', 'shutdown']) this.m.logsDropped.inc({ reason }, 0);
  }

  /** Prometheus text exposition of every metric; scrape hooks run first. */
  async scrape(): Promise<string> {
    for (const hook of this.scrapeHooks) {
      try {
        await hook();
      } catch {
        // A failing sampler leaves its gauges at their last values rather than failing the scrape.
      }
    }
    this.flushPending();
    return this.registry.metrics();
  }

  /** What the request path counted in plain numbers since the last scrape, into prom-client. */
  private flushPending(): void {
    for (const c of this.httpChildren.values()) {
      if (c.pending === 0) continue;
      c.count.inc(c.pending);
      c.pending = 0;
    }
    this.tokens.flush();
    this.cacheRequests.flush();
    this.upstream.flush();
    for (const [model, n] of this.inflightCounts) this.m.inflight.set({ model }, n);
  }

  /**
   * Runs `hook` before each scrape: for gauges cheaper to sample than to track, e.g.
   * `onScrape(() => { for (const m of registry.list()) metrics.queueDepth(m.id, m.queued) })`.
   */
  onScrape(hook: () => void | Promise<void>): void {
    this.scrapeHooks.push(hook);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * The configured model ids (call on registry load and reload). Other names are counted as
   * `other`; gauges of models no longer configured are removed.
   */
  setKnownModels(ids: Iterable<string>): void {
    const removed = this.models.set(ids);
    for (const model of removed) {
      this.m.modelUp.remove(model);
      this.m.circuitState.remove(model);
      this.m.queueDepth.remove(model);
      if (!this.inflightCounts.get(model)) this.dropInflight(model);
    }
    for (const model of this.models.ids) {
      this.m.tokens.inc({ model, kind: 'prompt' }, 0);
      this.m.tokens.inc({ model, kind: 'completion' }, 0);
      this.m.inflight.inc({ model }, 0);
      this.m.queueDepth.inc({ model }, 0);
    }
  }

  /** The label value a model name is counted under. */
  modelLabel(model: string | null | undefined): string {
    return this.models.label(model);
  }

  // --- HTTP (called by the request observer hook) ---

  /** `seconds` is undefined for requests the client abandoned (Fastify gives no duration). */
  observeHttp(method: string, route: string, status: number, seconds: number | undefined): void {
    const m = HTTP_METHODS.has(method) ? method : 'OTHER';
    const key = `${m} ${route} ${status}`;
    const c = this.httpChildren.get(key) ?? this.httpChild(m, route, status, key);
    c.pending++;
    if (seconds !== undefined) c.duration.observe(seconds);
  }

  private httpChild(method: string, route: string, status: number, key: string): HttpChildren {
    const durationKey = `${method} ${route}`;
    let duration = this.httpDurations.get(durationKey);
    if (!duration) this.httpDurations.set(durationKey, (duration = this.m.httpDuration.labels(route, method)));
    const c = { count: this.m.httpRequests.labels(route, method, String(status)), pending: 0, duration };
    this.httpChildren.set(key, c);
    return c;
  }

  /** One error response, by its error code (the request hook calls this for every 4xx/5xx). */
  countError(code: string | undefined): void {
    const known = code === undefined ? undefined : this.errorChildren.get(code);
    (known ?? this.otherErrors).inc();
  }

  /** Authenticated requests per key; a no-op unless METRICS_PER_KEY (key ids are unbounded). */
  keyRequest(keyId: string): void {
    this.m.keyRequests?.inc({ key_id: keyId });
  }

  // --- inference (called by the pipeline) ---

  observeInference(model: string, provider: string, seconds: number): void {
    this.m.inferenceDuration.observe(
      { model: this.models.label(model), provider: PROVIDERS.has(provider) ? provider : 'other' },
      seconds,
    );
  }

  observeTtft(model: string, seconds: number): void {
    this.m.ttft.observe({ model: this.models.label(model) }, seconds);
  }

  observeInterToken(model: string, seconds: number): void {
    this.m.interToken.observe({ model: this.models.label(model) }, seconds);
  }

  countTokens(model: string, prompt: number, completion: number): void {
    const label = this.models.label(model);
    if (prompt > 0) this.tokens.add(`${label} prompt`, prompt, () => ({ model: label, kind: 'prompt' }));
    if (completion > 0)
      this.tokens.add(`${label} completion`, completion, () => ({ model: label, kind: 'completion' }));
  }

  /** The details of an upstream's usage: parts of the prompt and completion counts above. */
  countTokenDetails(model: string, cachedPrompt: number, reasoning: number): void {
    const label = this.models.label(model);
    if (cachedPrompt > 0) this.m.cachedPromptTokens.inc({ model: label }, cachedPrompt);
    if (reasoning > 0) this.m.reasoningTokens.inc({ model: label }, reasoning);
  }

  cacheLookup(tier: CacheTier, result: LookupResult): void {
    this.cacheRequests.add(`${tier} ${result}`, 1, () => ({ tier, result }));
  }

  /** A request that skipped the cache (non-deterministic, Cache-Control: no-cache, cache off). */
  cacheBypass(): void {
    this.cacheRequests.add('none bypass', 1, () => ({ tier: 'none', result: 'bypass' }));
  }

  rateLimited(limit: LimitKind = 'requests'): void {
    this.m.rateLimited.inc({ limit });
  }

  quotaExhausted(): void {
    this.m.quotaExhausted.inc();
  }

  upstreamOutcome(model: string, outcome: UpstreamOutcome): void {
    const label = this.models.label(model);
    this.upstream.add(`${label} ${outcome}`, 1, () => ({ model: label, outcome }));
  }

  /** Only configured models get a health series (an `other` health makes no sense). */
  setModelUp(model: string, up: boolean): void {
    if (this.models.has(model)) this.m.modelUp.set({ model }, up ? 1 : 0);
  }

  /** Remote models only (a local model has no breaker). */
  setCircuitState(model: string, state: 'closed' | 'half-open' | 'open'): void {
    if (this.models.has(model)) this.m.circuitState.set({ model }, CIRCUIT_STATES[state]);
  }

  inflight(model: string, delta: number): void {
    const label = this.inflightCounts.get(model) ? model : this.models.label(model);
    const n = (this.inflightCounts.get(label) ?? 0) + delta;
    if (n === 0 && label !== OTHER_MODEL && !this.models.has(label)) return this.dropInflight(label);
    // The gauge is set from these counts at scrape time.
    this.inflightCounts.set(label, n);
  }

  private dropInflight(model: string): void {
    this.inflightCounts.delete(model);
    this.m.inflight.remove(model);
  }

  queueDepth(model: string, n: number): void {
    const label = this.models.label(model);
    if (label !== OTHER_MODEL) this.m.queueDepth.set({ model: label }, n);
  }

  batchSize(model: string, n: number): void {
    this.m.batchSize.observe({ model: this.models.label(model) }, n);
  }

  // --- inference_logs writer ---

  inferenceLogsWritten(n: number): void {
    this.m.logsWritten.inc(n);
  }

  inferenceLogsDropped(reason: LogDropReason, n: number): void {
    if (n > 0) this.m.logsDropped.inc({ reason }, n);
  }

  inferenceLogFlushFailed(): void {
    this.m.logFlushFailures.inc();
  }

  setInferenceLogsBuffered(n: number): void {
    this.m.logsBuffered.set(n);
  }

  // --- write-behind buffers (last_used_at, quota ledgers, usage rollups, hit counts, logs) ---

  /** `total`: the buffer's drops since start (read at scrape time); the counter catches up to it. */
  writeBehindDropped(buffer: string, reason: string, total: number): void {
    const key = `${buffer}|${reason}`;
    const counted = this.writeBehindDrops.get(key);
    this.writeBehindDrops.set(key, total);
    // The first read creates the series at 0, so dashboards show 0 rather than "no data".
    if (counted === undefined || total > counted)
      this.m.writeBehindDropped.inc({ buffer, reason }, total - (counted ?? 0));
  }
}
