import { Controller, Delete, HttpCode, Query } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { ErrorCode } from '../common/errors/error-code';
import { ApiErrors, ApiZodQuery, ApiZodResponse } from '../common/openapi/openapi.decorators';
import { ZodPipe } from '../common/validation/zod.pipe';
import { CompletionCache } from './completion-cache.service';
import { purgeCacheQuerySchema, purgeCacheResultSchema, type PurgeCacheQuery } from './dto/cache.schemas';
import { AdminEndpoint } from '../api-keys/decorators/endpoint.decorators';

@AdminEndpoint('admin: cache')
@Controller('admin/cache')
export class CacheController {
  constructor(private readonly cache: CompletionCache) {}

  @Delete()
  @HttpCode(200)
  @ApiOperation({ summary: 'Purge the completion cache (all models, or ?model=<id>)' })
  @ApiZodQuery(purgeCacheQuerySchema)
  @ApiZodResponse(200, purgeCacheResultSchema)
  @ApiErrors(ErrorCode.ServiceUnavailable)
  async purge(@Query(new ZodPipe(purgeCacheQuerySchema)) q: PurgeCacheQuery) {
    return { deleted: await this.cache.purge(q.model) };
  }
}
