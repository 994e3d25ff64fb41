import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiZodResponse } from '../common/openapi/openapi.decorators';
import { ModelsService } from './models.service';
import { AdminEndpoint } from '../api-keys/decorators/endpoint.decorators';

const adminModelSchema = z.object({
  id: z.string(),
  provider: z.enum(['onnx', 'http']),
  status: z.enum(['ready', 'error', 'open-circuit']),
  error: z.string().nullable(),
  default: z.boolean(),
  aliases: z.array(z.string()),
  fallbacks: z.array(z.string()),
  version: z.string().nullable(),
  context_length: z.number().int().nullable(),
  latency_ms: z.number().nullable().describe('average latency of recent successful requests'),
  inflight: z.number().int(),
  queued: z.number().int(),
  up: z.boolean(),
  breaker: z
    .object({ state: z.string(), consecutive_failures: z.number().int(), opened_at: z.string().nullable() })
    .nullable(),
});
const reloadSchema = z.object({
  added: z.array(z.string()),
  removed: z.array(z.string()),
  reloaded: z.array(z.string()),
  unchanged: z.array(z.string()),
});

@AdminEndpoint('admin: models')
@Controller('admin/models')
export class AdminModelsController {
  constructor(private readonly models: ModelsService) {}

  @Get()
  @ApiOperation({ summary: "Each model's provider, status, latency and load" })
  @ApiZodResponse(200, z.object({ data: z.array(adminModelSchema) }))
  async list() {
    const models = await this.models.list();
    return {
      data: models.map((m) => ({
        id: m.id,
        provider: m.provider,
        status: m.status,
        error: m.error ?? null,
        default: m.isDefault,
        aliases: m.aliases,
        fallbacks: m.fallbacks,
        version: m.version ?? null,
        context_length: m.contextLength ?? null,
        latency_ms: m.latencyMs === null ? null : Math.round(m.latencyMs * 10) / 10,
        inflight: m.inflight,
        queued: m.queued,
        up: m.up,
        breaker: m.breaker
          ? {
              state: m.breaker.state,
              consecutive_failures: m.breaker.consecutiveFailures,
              opened_at: m.breaker.openedAt ? new Date(m.breaker.openedAt).toISOString() : null,
            }
          : null,
      })),
    };
  }

  @Post('reload')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Reload models.yaml without a restart; in-flight requests finish on the old models; a bad file is refused and the old registry keeps serving',
  })
  @ApiZodResponse(200, reloadSchema)
  async reload() {
    const { added, removed, reloaded, unchanged } = await this.models.reload();
    return { added, removed, reloaded, unchanged };
  }
}
