import { type PipeTransform } from '@nestjs/common';
import { type z } from 'zod';
import { ApiError } from '../errors/api-error';

/** Turns the first zod issue into `invalid_request` with `param` naming the field. */
export function zodToApiError(error: z.ZodError, prefix?: string): ApiError {
  const issue = error.issues[0];
  let path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') path = [...path, issue.keys[0]];
  const param = [prefix, ...path].filter(Boolean).join('.') || null;
  const message =
    issue.code === 'unrecognized_keys'
      ? `unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`
      : issue.message;
  return ApiError.invalid(param ? `${param}: ${message}` : message, param);
}

export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, prefix?: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw zodToApiError(result.error, prefix);
  return result.data;
}

/** `@Body(new ZodPipe(schema))`: one validation library everywhere (zod). */
export class ZodPipe<T extends z.ZodType> implements PipeTransform<unknown, z.infer<T>> {
  constructor(
    private readonly schema: T,
    private readonly prefix?: string,
  ) {}

  transform(value: unknown): z.infer<T> {
    return parseOrThrow(this.schema, value ?? {}, this.prefix);
  }
}
