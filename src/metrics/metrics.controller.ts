import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiResponse } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code';
import { ApiErrors } from '../common/openapi/openapi.decorators';
import { AppConfig } from '../config/app-config';
import { MetricsService } from './metrics.service';
import { PublicEndpoint } from '../api-keys/decorators/endpoint.decorators';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * `GET /metrics` (the path comes from PrometheusModule.register). Public unless METRICS_TOKEN is
 * set: Prometheus then sends it as a bearer token. API keys are not accepted here on purpose, so
 * a scraper's credential can never call the API.
 */
@PublicEndpoint('observability')
@Controller()
export class MetricsController extends PrometheusController {
  private readonly token?: Buffer;

  constructor(
    private readonly metrics: MetricsService,
    config: AppConfig,
  ) {
    super();
    if (config.observability.metricsToken) this.token = digest(config.observability.metricsToken);
  }

  @Get()
  @ApiOperation({
    summary: 'Prometheus metrics (text exposition format); needs METRICS_TOKEN as a bearer token when one is set',
  })
  @ApiProduces('text/plain')
  @ApiBearerAuth()
  @ApiResponse({ status: 200, description: 'Prometheus text format, every name prefixed llm_' })
  @ApiErrors(ErrorCode.MissingApiKey, ErrorCode.InvalidApiKey)
  override async index(@Res({ passthrough: true }) reply: FastifyReply, @Req() req?: FastifyRequest): Promise<string> {
    if (this.token) this.authorize(this.token, req?.headers.authorization);
    reply.header('content-type', this.metrics.contentType);
    return this.metrics.scrape();
  }

  private authorize(token: Buffer, header: string | undefined): void {
    const m = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    if (!m)
      throw new ApiError(
        ErrorCode.MissingApiKey,
        'this endpoint needs the metrics token: send Authorization: Bearer <METRICS_TOKEN>',
      );
    // Equal-length digests: the comparison time says nothing about the token.
    if (!timingSafeEqual(digest(m[1].trim()), token))
      throw new ApiError(ErrorCode.InvalidApiKey, 'invalid metrics token');
  }
}
