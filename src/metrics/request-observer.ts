import { Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger as PinoLoggerType } from 'pino';
import { PinoNestLogger } from '../common/logging/pino-nest.logger';
import { MetricsService } from './metrics.service';
import type { ObservedRequest } from './request-annotations';

export const METRICS_PATH = '/metrics';
/** Unknown routes share one label value instead of one per scanned URL. */
export const UNMATCHED_ROUTE = 'unmatched';
const OBSERVED = Symbol('observed');

/** nginx's "client closed request": the client went away before the answer was complete. */
export const CLIENT_CLOSED_STATUS = 499;

/**
 * One Fastify hook per finished request feeds both the HTTP metrics and the one JSON log line
 * (pino-http's own line is off: it sees the raw request, so it knows neither the route template,
 * nor the key, nor the model). Clients that hang up before the answer is complete never reach
 * onResponse, so onRequestAbort counts them as 499.
 *
 * Fastify hooks rather than a Nest interceptor: an interceptor runs only once the guards have let
 * a request through and only for matched routes, so it would miss requests refused by the key or
 * rate-limit guards, unknown routes, framework errors (a malformed body) and clients that hang up
 * (docs/architecture.md).
 */
@Injectable()
export class RequestObserver implements OnModuleInit {
  /** The process's root pino logger (replaceable in tests). */
  logger: () => PinoLoggerType | undefined = () => this.appLogger?.root;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: MetricsService,
    @Optional() private readonly appLogger?: PinoNestLogger,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance?.() as FastifyInstance | undefined;
    if (!fastify || typeof fastify.addHook !== 'function') return;
    for (const prop of ['llmLog', 'errorCode'])
      if (!fastify.hasRequestDecorator(prop)) fastify.decorateRequest(prop, null);
    fastify.addHook('onResponse', (req, reply, done) => {
      this.observe(req as ObservedRequest, reply.statusCode, reply);
      done();
    });
    fastify.addHook('onRequestAbort', (req, done) => {
      this.observe(req as ObservedRequest, CLIENT_CLOSED_STATUS);
      done();
    });
    // onRequestAbort only fires while the body is still being read: a client that hangs up
    // later (mid-generation, mid-stream) is seen as a response closed before it finished.
    fastify.addHook('onRequest', (req, reply, done) => {
      // `on`, not `once` (no wrapper per request): a response closes once, and observe() runs once anyway.
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) this.observe(req as ObservedRequest, CLIENT_CLOSED_STATUS);
      });
      done();
    });
  }

  /** `reply` is absent for aborted requests: Fastify does not pass it, so no duration is known. */
  observe(req: ObservedRequest, status: number, reply?: FastifyReply): void {
    // Once per request, whichever of the hooks above sees its end first.
    const seen = req as ObservedRequest & { [OBSERVED]?: true };
    if (seen[OBSERVED]) return;
    seen[OBSERVED] = true;
    const route = req.routeOptions.url ?? UNMATCHED_ROUTE;
    if (route === METRICS_PATH) return;
    const ms = reply ? reply.elapsedTime : undefined;
    this.metrics.observeHttp(req.method, route, status, ms === undefined ? undefined : ms / 1000);
    const keyId = req.apiKey?.id;
    if (keyId) this.metrics.keyRequest(keyId);
    if (status >= 400 && status !== CLIENT_CLOSED_STATUS) this.metrics.countError(req.errorCode ?? undefined);
    this.log(req, route, status, ms, keyId);
  }

  private log(
    req: ObservedRequest,
    route: string,
    status: number,
    ms: number | undefined,
    keyId: string | undefined,
  ): void {
    const log = this.logger();
    if (!log) return;
    const level = status >= 500 && status !== CLIENT_CLOSED_STATUS ? 'error' : 'info';
    if (!log.isLevelEnabled(level)) return;
    const extra = req.llmLog;
    const q = req.url.indexOf('?');
    log[level](
      {
        request_id: req.id,
        method: req.method,
        route,
        path: q === -1 ? req.url : req.url.slice(0, q),
        status,
        latency_ms: ms === undefined ? undefined : Math.round(ms * 100) / 100,
        key_id: keyId,
        model: extra?.model,
        provider: extra?.provider,
        cached: extra?.cached,
        error_code: req.errorCode ?? (status === CLIENT_CLOSED_STATUS ? 'client_closed' : undefined),
        aborted: status === CLIENT_CLOSED_STATUS || undefined,
        prompt: extra?.prompt !== undefined && log.isLevelEnabled('debug') ? promptText(extra.prompt) : undefined,
      },
      'request completed',
    );
  }
}

const promptText = (p: string | (() => string)): string => (typeof p === 'function' ? p() : p);
