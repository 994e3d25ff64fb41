import { Controller, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthenticatedKey } from '../../api-keys/authenticated-key';
import { CurrentKey } from '../../api-keys/decorators/current-key.decorator';
import { KeyEndpoint } from '../../api-keys/decorators/endpoint.decorators';
import { ApiError } from '../../common/errors/api-error';
import { ApiZodBody, ApiZodResponse } from '../../common/openapi/openapi.decorators';
import { MetricsService } from '../../metrics/metrics.service';
import { ModelsService } from '../../models/models.service';
import { InferenceLogWriter } from '../../usage/inference-log.writer';
import { buildCall, toMessages } from '../call-builder';
import { CompletionPipeline } from '../completion-pipeline';
import { InferenceBody, InferenceEndpoint } from '../http/request-rate-limit.guard';
import { abortOnDisconnect } from '../http/sse';
import type { InferenceCall, InferenceRun } from '../inference-call';
import { recordRefusal } from '../settlement';
import { answerTranslated } from './translated-answer';
import { OutputItemsStore } from './output-items.store';
import { PassThrough } from './pass-through';
import { refuseStatefulFields, responsesParam, toChatBody } from './responses-to-chat';
import { type ResponsesBody, responseObjectSchema, responsesRequestSchema } from './responses.schemas';
import { INFERENCE_ERRORS } from '../http/inference-errors';

const ENDPOINT = '/v1/responses';

const DESCRIPTION = [
  "The stateless core of OpenAI's Responses API: input items, instructions, function tools, `text.format`.",
  'Models whose upstream speaks this API (`api: responses`) get the request as sent; every other model is served',
  'by translation to and from chat completions. `store: true` and `previous_response_id` are refused',
  '(`unsupported_parameter`): nothing is stored. With `stream: true` the answer is typed server-sent events',
  '(`event: response.created`, `response.output_text.delta`, ..., `response.completed`).',
].join(' ');

@KeyEndpoint('inference', ...INFERENCE_ERRORS)
@ApiHeader({ name: 'Cache-Control', required: false, description: '`no-cache` / `no-store`, as for chat completions' })
@Controller()
export class ResponsesController {
  constructor(
    private readonly pipeline: CompletionPipeline,
    private readonly models: ModelsService,
    private readonly logs: InferenceLogWriter,
    private readonly items: OutputItemsStore,
    private readonly metrics: MetricsService,
  ) {}

  @InferenceEndpoint(ENDPOINT, responsesRequestSchema)
  @ApiOperation({ summary: 'Create a model response (OpenAI Responses API, stateless)', description: DESCRIPTION })
  @ApiZodBody(responsesRequestSchema)
  @ApiZodResponse(200, responseObjectSchema)
  async create(
    @InferenceBody() body: ResponsesBody,
    @CurrentKey() key: AuthenticatedKey,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const startedAt = performance.now();
    const abort = abortOnDisconnect(reply);
    const stream = body.stream === true;
    let call: InferenceCall;
    let passThrough: PassThrough | undefined;
    try {
      refuseStatefulFields(body);
      passThrough = PassThrough.forModel(this.models, body, (model, outcome) =>
        this.metrics.upstreamOutcome(model, outcome),
      );
      if (!passThrough && Array.isArray(body.input))
        body = { ...body, input: await this.items.resolve(key.id, body.input) };
      call = passThrough ? passThrough.call(key, req, abort.signal) : this.translatedCall(body, key, req, abort.signal);
    } catch (err) {
      recordRefusal(
        { logs: this.logs },
        { requestId: req.id, keyId: key.id, model: body.model, endpoint: ENDPOINT, startedAt },
        err,
      );
      throw err;
    }
    let run: InferenceRun;
    try {
      run = await this.pipeline.start(call);
    } catch (err) {
      throw passThrough ? err : renamed(err);
    }
    if (passThrough) await passThrough.answer(reply, run, stream);
    else await answerTranslated(reply, run, body, stream, (items) => this.items.remember(key.id, items));
  }

  private translatedCall(
    body: ResponsesBody,
    key: AuthenticatedKey,
    req: FastifyRequest,
    signal: AbortSignal,
  ): InferenceCall {
    const chat = toChatBody(body);
    const messages = toMessages(chat.messages as Parameters<typeof toMessages>[0]);
    const input = { messages, maxTokens: body.max_output_tokens, stream: body.stream, body: chat };
    return buildCall(ENDPOINT, body, input, key, req, signal);
  }
}

/** A refusal that names a chat field (the translated request's) names the Responses one instead. */
function renamed(err: unknown): unknown {
  if (!(err instanceof ApiError) || err.passThrough) return err;
  const param = responsesParam(err.param);
  if (param === err.param) return err;
  return new ApiError(err.code, err.message.replaceAll(`"${err.param}"`, `"${param}"`), param, err.headers);
}
