import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { IS_PUBLIC } from './decorators/public.decorator';
import { ROLES, Role } from './decorators/roles.decorator';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code';
import { ApiKeysService } from './api-keys.service';
import { AuthenticatedKey } from './authenticated-key';

export type KeyedRequest = FastifyRequest & { apiKey?: AuthenticatedKey };

/**
 * `X-API-Key: <key>` or `Authorization: Bearer <key>`. Both with different keys is refused
 * rather than one silently chosen: a proxy may have added one of them (docs/api.md).
 */
export function presentedKey(req: FastifyRequest): string | undefined {
  const header = req.headers['x-api-key'];
  const apiKey = typeof header === 'string' && header.trim() ? header.trim() : undefined;
  const auth = req.headers.authorization;
  const bearer = typeof auth === 'string' ? /^Bearer\s+(.+)$/i.exec(auth.trim())?.[1].trim() : undefined;
  if (apiKey && bearer && apiKey !== bearer) {
    throw new ApiError(
      ErrorCode.InvalidApiKey,
      'X-API-Key and Authorization: Bearer carry different keys: send one key',
    );
  }
  return apiKey ?? bearer;
}

/** Global guard: deny by default, authenticate the key, then check the route's roles. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = ctx.switchToHttp().getRequest<KeyedRequest>();
    const presented = presentedKey(req);
    if (!presented) {
      throw new ApiError(ErrorCode.MissingApiKey, 'no API key: send it as X-API-Key or Authorization: Bearer');
    }
    const key = await this.keys.authenticate(presented);
    req.apiKey = key;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES, targets);
    if (roles && !roles.includes(key.role)) {
      throw new ApiError(ErrorCode.Forbidden, `this endpoint needs the ${roles.join(' or ')} role`);
    }
    return true;
  }
}
