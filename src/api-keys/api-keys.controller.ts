import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { ErrorCode } from '../common/errors/error-code';
import { ApiErrors, ApiZodBody, ApiZodQuery, ApiZodResponse } from '../common/openapi/openapi.decorators';
import { ZodPipe } from '../common/validation/zod.pipe';
import { ApiKeysService } from './api-keys.service';
import { decodeCursor, encodeCursor, toApiKeyDto } from './dto/api-key.mapper';
import {
  apiKeyRecordSchema,
  createdKeySchema,
  createKeySchema,
  CreateKeyBody,
  keyIdParamSchema,
  keyListSchema,
  listKeysQuerySchema,
  ListKeysQuery,
  updateKeySchema,
  UpdateKeyBody,
} from './dto/api-key.schemas';
import { AdminEndpoint } from './decorators/endpoint.decorators';

const idPipe = new ZodPipe(keyIdParamSchema);

@AdminEndpoint('admin: keys')
@Controller('admin/keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiOperation({ summary: 'Create a key; the plaintext is in the answer, this once' })
  @ApiZodBody(createKeySchema)
  @ApiZodResponse(201, createdKeySchema, 'Created')
  async create(@Body(new ZodPipe(createKeySchema)) body: CreateKeyBody) {
    const { record, key } = await this.keys.create({
      label: body.label,
      role: body.role,
      quotaTokens: body.quota_tokens ?? null,
      rpm: body.rpm ?? null,
      tpm: body.tpm ?? null,
      allowedModels: body.allowed_models ?? null,
    });
    return { ...toApiKeyDto(record), key };
  }

  @Get()
  @ApiOperation({ summary: 'List keys, newest first (keyset pagination)' })
  @ApiZodQuery(listKeysQuerySchema)
  @ApiZodResponse(200, keyListSchema)
  async list(@Query(new ZodPipe(listKeysQuerySchema)) q: ListKeysQuery) {
    const rows = await this.keys.list({
      limit: q.limit + 1,
      after: q.cursor ? decodeCursor(q.cursor) : undefined,
      active: q.active,
      role: q.role,
      label: q.label,
    });
    const page = rows.slice(0, q.limit);
    return {
      data: page.map(toApiKeyDto),
      next_cursor: rows.length > q.limit ? encodeCursor(page[page.length - 1]) : null,
    };
  }

  @Get(':id')
  @ApiOperation({ summary: "One key's record (never the plaintext or the hash)" })
  @ApiZodResponse(200, apiKeyRecordSchema)
  @ApiErrors(ErrorCode.NotFound)
  async get(@Param(idPipe) p: { id: string }) {
    return toApiKeyDto(await this.keys.get(p.id));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change active, label, role, quota_tokens, rpm, tpm or allowed_models' })
  @ApiZodBody(updateKeySchema)
  @ApiZodResponse(200, apiKeyRecordSchema)
  @ApiErrors(ErrorCode.NotFound)
  async update(@Param(idPipe) p: { id: string }, @Body(new ZodPipe(updateKeySchema)) body: UpdateKeyBody) {
    const record = await this.keys.update(p.id, {
      label: body.label,
      role: body.role,
      active: body.active,
      quotaTokens: body.quota_tokens,
      rpm: body.rpm,
      tpm: body.tpm,
      allowedModels: body.allowed_models,
    });
    return toApiKeyDto(record);
  }

  @Post(':id/rotate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Issue a new plaintext key; the old one stops working at once' })
  @ApiZodResponse(200, createdKeySchema)
  @ApiErrors(ErrorCode.NotFound)
  async rotate(@Param(idPipe) p: { id: string }) {
    const { record, key } = await this.keys.rotate(p.id);
    return { ...toApiKeyDto(record), key };
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke: kept for audit, never works again' })
  @ApiZodResponse(200, apiKeyRecordSchema)
  @ApiErrors(ErrorCode.NotFound)
  async revoke(@Param(idPipe) p: { id: string }) {
    return toApiKeyDto(await this.keys.revoke(p.id));
  }
}
