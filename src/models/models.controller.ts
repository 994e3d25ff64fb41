import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { z } from 'zod';
import type { AuthenticatedKey } from '../api-keys/authenticated-key';
import { CurrentKey } from '../api-keys/decorators/current-key.decorator';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code';
import { ApiErrors, ApiZodResponse } from '../common/openapi/openapi.decorators';
import { ModelsService } from './models.service';
import { KeyEndpoint } from '../api-keys/decorators/endpoint.decorators';

const modelSchema = z.object({
  id: z.string(),
  object: z.literal('model'),
  created: z.number().int(),
  owned_by: z.string(),
});
const modelListSchema = z.object({ object: z.literal('list'), data: z.array(modelSchema) });
const STARTED = Math.floor(Date.now() / 1000);

/** OpenAI's model list: only the models this key may use (aliases included). */
@KeyEndpoint('inference')
@Controller('v1/models')
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Get()
  @ApiOperation({ summary: 'Models this key may use' })
  @ApiZodResponse(200, modelListSchema)
  async list(@CurrentKey() key: AuthenticatedKey) {
    const all = await this.models.list();
    const ids = all
      .filter((m) => this.allowed(key, m.id))
      .map((m) => ({ id: m.id, owner: m.provider === 'onnx' ? 'llm-server' : 'upstream' }));
    return { object: 'list', data: ids.map((m) => this.object(m.id, m.owner)) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One model' })
  @ApiZodResponse(200, modelSchema)
  @ApiErrors(ErrorCode.ModelNotFound)
  async get(@CurrentKey() key: AuthenticatedKey, @Param('id') id: string) {
    const info = (await this.models.list()).find((m) => m.id === id || m.aliases.includes(id));
    if (!info || !this.allowed(key, info.id))
      throw new ApiError(ErrorCode.ModelNotFound, `model "${id}" does not exist`, 'model');
    return this.object(id, info.provider === 'onnx' ? 'llm-server' : 'upstream');
  }

  private allowed(key: AuthenticatedKey, id: string): boolean {
    return !key.allowedModels || key.allowedModels.includes(id);
  }

  private object(id: string, owner: string) {
    return { id, object: 'model', created: STARTED, owned_by: owner };
  }
}
