import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code';
import { AppConfig } from '../config/app-config';
import { ModelsService } from '../inference/models.service';
import type { GenerateRequest, StreamEvent } from '../inference/provider.interface';
import type { ResolvedModel } from '../inference/registry';
import { InferenceCall, InferenceRun } from './inference-call';

/** When a request names no max_tokens: enough for a real answer, bounded for quota reservations. */
export const DEFAULT_MAX_TOKENS = 512;

/**
 * The inference pipeline: model resolution and access, prompt limits, token counting, then the
 * router; the controllers only translate HTTP to an InferenceCall and the run back to HTTP.
 */
@Injectable()
export class InferenceService {
  constructor(
    private readonly config: AppConfig,
    private readonly models: ModelsService,
  ) {}

  async start(call: InferenceCall): Promise<InferenceRun> {
    const startedAt = performance.now();
    const model = this.resolveAllowed(call);
    this.checkPromptSize(call);
    const input = call.messages ?? call.prompt ?? '';
    const promptTokens = await this.models.countTokens(model.id, input);
    const maxTokens = this.maxTokens(call, model, promptTokens);
    const req: GenerateRequest = {
      prompt: call.prompt,
      messages: call.messages,
      params: {
        maxTokens,
        temperature: call.temperature,
        topP: call.topP,
        topK: call.topK,
        repetitionPenalty: call.repetitionPenalty,
        stop: call.stop,
        seed: call.seed,
      },
      signal: call.signal,
      requestId: call.requestId,
      user: call.user,
    };
    const stream = await this.models.router.stream(req, model.id);
    return {
      id: call.requestId.replace(/[^A-Za-z0-9]/g, '').slice(0, 32) || randomUUID().replace(/-/g, ''),
      created: Math.floor(Date.now() / 1000),
      model: stream.model,
      cache: 'bypass',
      headers: { 'x-cache': 'bypass' },
      startedAt,
      events: stream as AsyncIterableIterator<StreamEvent>,
    };
  }

  private resolveAllowed(call: InferenceCall): ResolvedModel {
    const model = this.models.resolve(call.model);
    const allowed = call.key.allowedModels;
    if (allowed && !allowed.includes(model.id) && !(call.model && allowed.includes(call.model))) {
      throw new ApiError(ErrorCode.ModelNotAllowed, `this API key may not use model "${model.id}"`, 'model');
    }
    if (model.status === 'error') {
      throw new ApiError(ErrorCode.ModelUnavailable, `model "${model.id}" is not available: ${model.error ?? 'failed to load'}`, 'model', { 'retry-after': '30' });
    }
    return model;
  }

  private checkPromptSize(call: InferenceCall): void {
    const chars = call.prompt?.length ?? call.messages!.reduce((n, m) => n + m.content.length, 0);
    if (chars > this.config.limits.maxPromptChars) {
      throw new ApiError(
        ErrorCode.RequestTooLarge,
        `the prompt is ${chars} characters; the limit is ${this.config.limits.maxPromptChars}`,
        call.messages ? 'messages' : 'prompt',
      );
    }
  }

  /** max_tokens defaults, and is capped by what the model's context leaves after the prompt. */
  private maxTokens(call: InferenceCall, model: ResolvedModel, promptTokens: number): number {
    const context = model.contextLength;
    const room = context === undefined ? Infinity : context - promptTokens;
    const param = call.messages ? 'messages' : 'prompt';
    if (room < 1) {
      throw ApiError.invalid(
        `the prompt is ${promptTokens} tokens; model "${model.id}" has a context length of ${context} tokens, leaving no room for a completion`,
        param,
      );
    }
    return Math.min(call.maxTokens ?? DEFAULT_MAX_TOKENS, room);
  }
}
