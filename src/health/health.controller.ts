import { Controller, Get, Logger, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiResponse } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { ReadinessRegistry } from '../common/lifecycle/readiness.registry';
import { PublicEndpoint } from '../api-keys/decorators/endpoint.decorators';

/**
 * /readyz is public: a dependency that is down is reported as `down` only, and the reason (which
 * names hosts and ports) goes to the log (docs/observability.md, "Health").
 */
@PublicEndpoint('health')
@Controller()
export class HealthController {
  private readonly logger = new Logger('Health');

  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly readiness: ReadinessRegistry,
  ) {}

  @Get('healthz')
  @ApiOperation({ summary: 'Liveness: the process answers (no dependencies checked)' })
  @ApiResponse({ status: 200, description: '{"status":"ok"}' })
  healthz() {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiOperation({ summary: 'Readiness: database, Redis when configured, models' })
  @ApiResponse({ status: 200, description: 'ready, with details' })
  @ApiResponse({ status: 503, description: 'a dependency is down, with details' })
  async readyz(@Res() reply: FastifyReply) {
    const checks = [
      async () => {
        try {
          const result = await this.db.pingCheck('database', { timeout: 2000 });
          if (result.database?.status === 'up') return result;
          this.logDown('database', result.database?.message);
        } catch (err) {
          this.logDown('database', err);
        }
        return this.indicators.check('database').down();
      },
      ...[...this.readiness.checks].map(([name, check]) => async () => {
        const ind = this.indicators.check(name);
        try {
          const { up, ...details } = await check();
          return up ? ind.up(details) : ind.down(details);
        } catch (err) {
          this.logDown(name, err);
          return ind.down();
        }
      }),
    ];
    try {
      reply.status(200).send(await this.health.check(checks));
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      reply.status(503).send(err.getResponse());
    }
  }

  private logDown(name: string, reason: unknown): void {
    const detail = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'no answer';
    this.logger.warn(`readiness: ${name} is down: ${detail}`);
  }
}
