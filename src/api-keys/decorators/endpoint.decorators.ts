import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ErrorCode } from '../../common/errors/error-code';
import { ApiErrors, AUTH_ERRORS } from '../../common/openapi/openapi.decorators';
import { Public } from './public.decorator';
import { Roles } from './roles.decorator';

// Each kind of endpoint in one decorator: who may call it (the global key guard reads the
// metadata) and what the OpenAPI document says about it (docs/api.md). The parts are applied
// in the order the former stacked decorators were, so the document is unchanged.

/** Needs an API key of any role: documented with both key schemes and the auth errors. */
export function KeyEndpoint(tag: string, ...errors: ErrorCode[]): ClassDecorator {
  return applyDecorators(ApiErrors(...AUTH_ERRORS, ...errors), ApiBearerAuth(), ApiSecurity('api-key'), ApiTags(tag));
}

/** Needs an admin key: a non-admin key is refused 403. */
export function AdminEndpoint(tag: string): ClassDecorator {
  return applyDecorators(Roles('admin'), KeyEndpoint(tag, ErrorCode.Forbidden));
}

/** Reachable without a key (health, metrics with their own token). */
export function PublicEndpoint(tag: string): ClassDecorator {
  return applyDecorators(Public(), ApiTags(tag));
}
