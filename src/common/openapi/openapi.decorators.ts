import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiQuery, ApiResponse } from '@nestjs/swagger';
import { z } from 'zod';
import { ERROR_STATUS, ErrorCode } from '../errors/error-code';

type Json = Record<string, unknown>;

/** The zod schemas that validate requests are also the OpenAPI schemas: one source of truth. */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output' = 'output'): Json {
  const s = z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' }) as Json;
  delete s.$schema;
  return s;
}

export const ApiZodBody = (schema: z.ZodType, description?: string) =>
  ApiBody({ schema: jsonSchemaOf(schema, 'input') as never, description });

export const ApiZodResponse = (status: number, schema: z.ZodType, description = 'OK') =>
  ApiResponse({ status, description, schema: jsonSchemaOf(schema) as never });

/** Documents each query parameter of a zod object schema. */
export function ApiZodQuery(schema: z.ZodObject): MethodDecorator {
  const props = (jsonSchemaOf(schema, 'input').properties ?? {}) as Record<string, Json>;
  return applyDecorators(
    ...Object.entries(props).map(([name, s]) => ApiQuery({ name, required: false, schema: s as never })),
  );
}

export const errorBodySchema = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.enum(Object.values(ErrorCode) as [string, ...string[]]),
  }),
});

/** Documents the error responses a route can give, grouped by status. */
export function ApiErrors(...codes: ErrorCode[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const c of codes) byStatus.set(ERROR_STATUS[c], [...(byStatus.get(ERROR_STATUS[c]) ?? []), c]);
  const schema = jsonSchemaOf(errorBodySchema);
  return applyDecorators(
    ...[...byStatus].map(([status, cs]) =>
      ApiResponse({ status, description: `error: ${cs.join(' | ')}`, schema: schema as never }),
    ),
  );
}

/** Every authenticated route can answer these. */
export const AUTH_ERRORS = [
  ErrorCode.MissingApiKey,
  ErrorCode.InvalidApiKey,
  ErrorCode.ApiKeyInactive,
  ErrorCode.InvalidRequest,
];
