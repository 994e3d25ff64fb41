import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import type { AuthenticatedKey } from '../api-keys/authenticated-key';
import { keyIdParamSchema } from '../api-keys/dto/api-key.schemas';
import { CurrentKey } from '../api-keys/decorators/current-key.decorator';
import { ErrorCode } from '../common/errors/error-code';
import { ApiErrors, ApiZodQuery, ApiZodResponse } from '../common/openapi/openapi.decorators';
import { ZodPipe } from '../common/validation/zod.pipe';
import {
  AggregateUsageQuery,
  aggregateUsageQuerySchema,
  aggregateUsageSchema,
  KeyUsageQuery,
  keyUsageQuerySchema,
  keyUsageSchema,
  ownUsageQuerySchema,
  ownUsageSchema,
} from './usage-rollup.dto';
import { UsageService } from './usage.service';
import { AdminEndpoint, KeyEndpoint } from '../api-keys/decorators/endpoint.decorators';

/** GET /v1/usage: any key, its own current period. */
@KeyEndpoint('usage')
@Controller('v1/usage')
export class OwnUsageController {
  constructor(private readonly usage: UsageService) {}

  @Get()
  @ApiOperation({ summary: "The calling key's quota and usage in the current period" })
  @ApiZodResponse(200, ownUsageSchema)
  async own(@CurrentKey() key: AuthenticatedKey, @Query(new ZodPipe(ownUsageQuerySchema)) _q: object) {
    return this.usage.own(key);
  }
}

/** Admin usage reports, served from the daily rollups. */
@AdminEndpoint('admin: usage')
@Controller('admin')
export class AdminUsageController {
  constructor(private readonly usage: UsageService) {}

  @Get('keys/:id/usage')
  @ApiOperation({ summary: "One key's usage by quota period, model and day over from..to" })
  @ApiZodQuery(keyUsageQuerySchema)
  @ApiZodResponse(200, keyUsageSchema)
  @ApiErrors(ErrorCode.NotFound)
  async ofKey(
    @Param(new ZodPipe(keyIdParamSchema)) p: { id: string },
    @Query(new ZodPipe(keyUsageQuerySchema)) q: KeyUsageQuery,
  ) {
    return this.usage.ofKey(p.id, q);
  }

  @Get('usage')
  @ApiOperation({ summary: "Every key's usage over from..to, grouped by model, key or day" })
  @ApiZodQuery(aggregateUsageQuerySchema)
  @ApiZodResponse(200, aggregateUsageSchema)
  async aggregate(@Query(new ZodPipe(aggregateUsageQuerySchema)) q: AggregateUsageQuery) {
    return this.usage.aggregate(q);
  }
}
