import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { Public } from '../common/decorators/public.decorator';
import { ReadinessRegistry } from './readiness.registry';

@ApiTags('health')
@Public()
@Controller()
export class HealthController {
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
      () => this.db.pingCheck('database', { timeout: 2000 }),
      ...[...this.readiness.checks].map(([name, check]) => async () => {
        const ind = this.indicators.check(name);
        try {
          const { up, ...details } = await check();
          return up ? ind.up(details) : ind.down(details);
        } catch (err) {
          return ind.down({ message: (err as Error).message });
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
}
