import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { AuthenticatedKey } from '../authenticated-key';

/** The API key the auth guard attached to the request. */
export const CurrentKey = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthenticatedKey => {
  return ctx.switchToHttp().getRequest().apiKey;
});
