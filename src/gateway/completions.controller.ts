import { Controller, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthenticatedKey } from '../api-keys/authenticated-key';
import { CurrentKey } from '../api-keys/decorators/current-key.decorator';
import { KeyEndpoint } from '../api-keys/decorators/endpoint.decorators';
import { ApiZodBody, ApiZodResponse } from '../common/openapi/openapi.decorators';
import { buildCall, promptText, toMessages } from './call-builder';
import { ChatBody, chatCompletionSchema, chatRequestSchema } from './dto/chat.schemas';
import { CompletionBody, completionRequestSchema, completionSchema } from './dto/completions.schemas';
import { GenerateBody, generateRequestSchema, generateResponseSchema } from './dto/generate.schemas';
import { chatFormat } from './format/chat.format';
import { completionsFormat } from './format/completions.format';
import { generateFormat } from './format/generate.format';
import type { Endpoint } from './inference-call';
import { type Formatter, respond } from './http/respond';
import { InferenceBody, InferenceEndpoint } from './http/request-rate-limit.guard';
import { abortOnDisconnect } from './http/sse';
import { INFERENCE_ERRORS } from './http/inference-errors';
import { CompletionPipeline } from './completion-pipeline';

const CACHE_CONTROL = {
  name: 'Cache-Control',
  required: false,
  description: '`no-cache`: skip the cache lookup (still stores); `no-store`: neither read nor write',
};
const STREAM_NOTE =
  'With `stream: true` the answer is `text/event-stream`: `data: {chunk}` lines, then `data: [DONE]`.';

type CallInput = Parameters<typeof buildCall>[2];

/** The three inference APIs: each translates its body into one call, and its answer back. */
@KeyEndpoint('inference', ...INFERENCE_ERRORS)
@ApiHeader(CACHE_CONTROL)
@Controller()
export class CompletionsController {
  constructor(private readonly pipeline: CompletionPipeline) {}

  @InferenceEndpoint('/v1/generate', generateRequestSchema)
  @ApiOperation({ summary: 'Generate text for a prompt (the simple API)', description: STREAM_NOTE })
  @ApiZodBody(generateRequestSchema)
  @ApiZodResponse(200, generateResponseSchema)
  async generate(
    @InferenceBody() body: GenerateBody,
    @CurrentKey() key: AuthenticatedKey,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const input = { prompt: body.prompt, maxTokens: body.max_tokens, stream: body.stream };
    await this.serve('/v1/generate', body, input, generateFormat, key, req, reply);
  }

  @InferenceEndpoint('/v1/chat/completions', chatRequestSchema)
  @ApiOperation({ summary: 'OpenAI-compatible chat completion', description: STREAM_NOTE })
  @ApiZodBody(chatRequestSchema)
  @ApiZodResponse(200, chatCompletionSchema)
  async chat(
    @InferenceBody() body: ChatBody,
    @CurrentKey() key: AuthenticatedKey,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const input = {
      messages: toMessages(body.messages),
      maxTokens: body.max_completion_tokens ?? body.max_tokens,
      stream: body.stream,
      body,
    };
    const format = chatFormat(body.stream_options?.include_usage === true);
    await this.serve('/v1/chat/completions', body, input, format, key, req, reply);
  }

  @InferenceEndpoint('/v1/completions', completionRequestSchema)
  @ApiOperation({ summary: 'OpenAI-compatible text completion', description: STREAM_NOTE })
  @ApiZodBody(completionRequestSchema)
  @ApiZodResponse(200, completionSchema)
  async completions(
    @InferenceBody() body: CompletionBody,
    @CurrentKey() key: AuthenticatedKey,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const input = { prompt: promptText(body.prompt), maxTokens: body.max_tokens, stream: body.stream, body };
    const format = completionsFormat(body.stream_options?.include_usage === true);
    await this.serve('/v1/completions', body, input, format, key, req, reply);
  }

  /** The one path of every inference handler: abort on disconnect, run the pipeline, answer. */
  private async serve(
    endpoint: Endpoint,
    body: GenerateBody | ChatBody | CompletionBody,
    input: CallInput,
    format: Formatter,
    key: AuthenticatedKey,
    req: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> {
    const abort = abortOnDisconnect(reply);
    const call = buildCall(endpoint, body, input, key, req, abort.signal);
    await respond(reply, await this.pipeline.start(call), call.stream, format);
  }
}
