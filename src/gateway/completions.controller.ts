import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthenticatedKey } from '../api-keys/authenticated-key';
import { CurrentKey } from '../api-keys/decorators/current-key.decorator';
import { ErrorCode } from '../common/errors/error-code';
import { ApiErrors, ApiZodBody, ApiZodResponse, AUTH_ERRORS } from '../common/openapi/openapi.decorators';
import { ZodPipe } from '../common/validation/zod.pipe';
import { buildCall, toMessages } from './call-builder';
import { ChatBody, chatCompletionSchema, chatRequestSchema } from './dto/chat.schemas';
import { CompletionBody, completionRequestSchema, completionSchema } from './dto/completions.schemas';
import { GenerateBody, generateRequestSchema, generateResponseSchema } from './dto/generate.schemas';
import { chatFormat } from './format/chat.format';
import { completionsFormat } from './format/completions.format';
import { generateFormat } from './format/generate.format';
import { respond } from './http/respond';
import { abortOnDisconnect } from './http/sse';
import { CompletionPipeline } from './completion-pipeline';

const INFERENCE_ERRORS = [
  ...AUTH_ERRORS, ErrorCode.ModelNotAllowed, ErrorCode.ModelNotFound, ErrorCode.QuotaExhausted, ErrorCode.RequestTooLarge,
  ErrorCode.RateLimitExceeded, ErrorCode.UpstreamError, ErrorCode.ModelUnavailable, ErrorCode.UpstreamTimeout,
];

const CACHE_CONTROL = { name: 'Cache-Control', required: false, description: '`no-cache`: skip the cache lookup (still stores); `no-store`: neither read nor write' };
const STREAM_NOTE = 'With `stream: true` the answer is `text/event-stream`: `data: {chunk}` lines, then `data: [DONE]`.';

@ApiTags('inference')
@ApiSecurity('api-key')
@ApiBearerAuth()
@ApiHeader(CACHE_CONTROL)
@ApiErrors(...INFERENCE_ERRORS)
@Controller('v1')
export class CompletionsController {
  constructor(private readonly pipeline: CompletionPipeline) {}

  @Post('generate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Generate text for a prompt (the simple API)', description: STREAM_NOTE })
  @ApiZodBody(generateRequestSchema)
  @ApiZodResponse(200, generateResponseSchema)
  async generate(
    @Body(new ZodPipe(generateRequestSchema)) body: GenerateBody,
    @CurrentKey() key: AuthenticatedKey,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const abort = abortOnDisconnect(reply);
    const call = buildCall('/v1/generate', body, { prompt: body.prompt, maxTokens: body.max_tokens, stream: body.stream }, key, req, abort.signal);
    await respond(reply, await this.pipeline.start(call), call.stream, generateFormat);
  }

  @Post('chat/completions')
  @HttpCode(200)
  @ApiOperation({ summary: 'OpenAI-compatible chat completion', description: STREAM_NOTE })
  @ApiZodBody(chatRequestSchema)
  @ApiZodResponse(200, chatCompletionSchema)
  async chat(
    @Body(new ZodPipe(chatRequestSchema)) body: ChatBody,
    @CurrentKey() key: AuthenticatedKey,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const abort = abortOnDisconnect(reply);
    const maxTokens = body.max_completion_tokens ?? body.max_tokens;
    const call = buildCall('/v1/chat/completions', body, { messages: toMessages(body.messages), maxTokens, stream: body.stream }, key, req, abort.signal);
    const includeUsage = body.stream_options?.include_usage === true;
    await respond(reply, await this.pipeline.start(call), call.stream, chatFormat(includeUsage));
  }

  @Post('completions')
  @HttpCode(200)
  @ApiOperation({ summary: 'OpenAI-compatible text completion', description: STREAM_NOTE })
  @ApiZodBody(completionRequestSchema)
  @ApiZodResponse(200, completionSchema)
  async completions(
    @Body(new ZodPipe(completionRequestSchema)) body: CompletionBody,
    @CurrentKey() key: AuthenticatedKey,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const abort = abortOnDisconnect(reply);
    const call = buildCall('/v1/completions', body, { prompt: body.prompt, maxTokens: body.max_tokens, stream: body.stream }, key, req, abort.signal);
    const includeUsage = body.stream_options?.include_usage === true;
    await respond(reply, await this.pipeline.start(call), call.stream, completionsFormat(includeUsage));
  }
}
