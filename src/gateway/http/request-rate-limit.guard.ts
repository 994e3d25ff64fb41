import {
  applyDecorators,
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  HttpCode,
  Injectable,
  Post,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { z } from 'zod';
import { parseOrThrow } from '../../common/validation/zod.pipe';
import type { KeyedRequest } from '../../api-keys/api-key.guard';
import { RateLimiter } from '../../throttling/rate-limiter';
import { InferenceLogWriter } from '../../usage/inference-log.writer';
import type { Endpoint } from '../inference-call';
import { recordRefusal } from '../settlement';

const INFERENCE_ENDPOINT = 'llm:inferenceEndpoint';
const INFERENCE_BODY = 'llm:inferenceBody';

type RateLimitedRequest = KeyedRequest & { rateLimitHeaders?: Record<string, string>; validatedBody?: unknown };

/**
 * An inference route: `POST <endpoint>` with a body validated by `schema`, answered 200, behind
 * the request-rate limit. The key guard (global) runs before it; the token-dependent stages stay
 * in CompletionPipeline (docs/architecture.md). The handler takes the body with @InferenceBody().
 */
export function InferenceEndpoint(endpoint: Endpoint, schema: z.ZodType): MethodDecorator {
  return applyDecorators(
    Post(endpoint),
    HttpCode(200),
    SetMetadata(INFERENCE_ENDPOINT, endpoint),
    SetMetadata(INFERENCE_BODY, schema),
    UseGuards(RequestRateLimitGuard),
  );
}

/** The body of an @InferenceEndpoint, as its guard validated it. */
export const InferenceBody = createParamDecorator(
  (_: unknown, ctx: ExecutionContext) => ctx.switchToHttp().getRequest<RateLimitedRequest>().validatedBody,
);

/**
 * The per-key requests-per-minute limit. It needs only the key, so it runs as a guard. Guards run
 * before pipes, so this one validates the body first: bad input gets its 400 and changes nothing
 * (it does not count against the limit), exactly as when validation came first. Its
 * x-ratelimit-* headers stay on the request for the pipeline to send with the answer; a refusal
 * gets its inference_logs row here, as the pipeline's refusals do there (docs/limits.md).
 */
@Injectable()
export class RequestRateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiter,
    private readonly logs: InferenceLogWriter,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const startedAt = performance.now();
    const req = ctx.switchToHttp().getRequest<RateLimitedRequest>();
    const key = req.apiKey;
    if (!key) throw new Error('RequestRateLimitGuard runs after the API key guard, on routes that need a key');
    const schema = this.reflector.get<z.ZodType>(INFERENCE_BODY, ctx.getHandler());
    req.validatedBody = parseOrThrow(schema, req.body ?? {});
    try {
      req.rateLimitHeaders = (await this.limiter.checkRequest(key)).headers;
      return true;
    } catch (err) {
      const endpoint = this.reflector.get<Endpoint>(INFERENCE_ENDPOINT, ctx.getHandler());
      recordRefusal(
        { logs: this.logs },
        { requestId: req.id, keyId: key.id, model: requestedModel(req.body), endpoint, startedAt },
        err,
      );
      throw err;
    }
  }
}

/** The headers RequestRateLimitGuard left on the request (none on a route without it). */
export function rateLimitHeadersOf(req: object): Record<string, string> {
  return (req as RateLimitedRequest).rateLimitHeaders ?? {};
}

/** The body as sent (validated, but read before the pipeline resolves its model). */
function requestedModel(body: unknown): string | undefined {
  const model = body !== null && typeof body === 'object' ? (body as { model?: unknown }).model : undefined;
  return typeof model === 'string' ? model : undefined;
}
