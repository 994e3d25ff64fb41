import { Controller, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthenticatedKey } from '../../api-keys/authenticated-key';
import { CurrentKey } from '../../api-keys/decorators/current-key.decorator';
import { KeyEndpoint } from '../../api-keys/decorators/endpoint.decorators';
import { ApiZodBody, ApiZodResponse } from '../../common/openapi/openapi.decorators';
import { InferenceBody, InferenceEndpoint } from '../http/request-rate-limit.guard';
import { abortOnDisconnect } from '../http/sse';
import { EmbeddingsService } from './embeddings.service';
import { type EmbeddingsBody, embeddingsRequestSchema, embeddingsResponseSchema } from './embeddings.schemas';
import { INFERENCE_ERRORS } from '../http/inference-errors';

const ENDPOINT = '/v1/embeddings';

const DESCRIPTION = [
  "OpenAI's embeddings API: `input` is a string, a list of strings, a token array or a list of token arrays.",
  'Local encoders (`task: embeddings`, provider onnx) batch inputs across concurrent requests; remote models get',
  'the body as sent. `encoding_format: base64` is little-endian float32. `dimensions` truncates and re-normalises',
  '(models that declare `matryoshka_dimensions`). An input over the context is refused naming its index, unless',
  "`truncate: true`. `input_type` (`query` | `document`) picks the model's configured prefix. Answers are cached.",
].join(' ');

@KeyEndpoint('inference', ...INFERENCE_ERRORS)
@ApiHeader({ name: 'Cache-Control', required: false, description: '`no-cache` / `no-store` skip the cache' })
@Controller()
export class EmbeddingsController {
  constructor(private readonly embeddings: EmbeddingsService) {}

  @InferenceEndpoint(ENDPOINT, embeddingsRequestSchema)
  @ApiOperation({ summary: 'Create embeddings (OpenAI-compatible)', description: DESCRIPTION })
  @ApiZodBody(embeddingsRequestSchema)
  @ApiZodResponse(200, embeddingsResponseSchema)
  async create(
    @InferenceBody() body: EmbeddingsBody,
    @CurrentKey() key: AuthenticatedKey,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const abort = abortOnDisconnect(reply);
    const answer = await this.embeddings.create(body, key, req, abort.signal);
    reply.headers(answer.headers).status(200).send(answer.body);
  }
}
