import { z } from 'zod';
import { calendarDay } from '../common/validation/sql-safe';

const day = calendarDay;

export const MAX_RANGE_DAYS = 366;

export const ownUsageQuerySchema = z.strictObject({});

export const keyUsageQuerySchema = z.strictObject({
  from: day.optional().describe('First day (UTC), inclusive; default: the start of the current quota period'),
  to: day.optional().describe('Last day (UTC), inclusive; default: today'),
});

export const aggregateUsageQuerySchema = z.strictObject({
  group_by: z.enum(['model', 'key', 'day']).default('model'),
  from: day.optional().describe('First day (UTC), inclusive; default: 29 days before `to`'),
  to: day.optional().describe('Last day (UTC), inclusive; default: today'),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

const tokens = { prompt_tokens: z.number().int(), completion_tokens: z.number().int() };
const totals = {
  requests: z.number().int(),
  ...tokens,
  total_tokens: z.number().int(),
  cached_requests: z.number().int(),
};

export const ownUsageSchema = z.object({
  period_start: z.string(),
  reset_at: z.string(),
  quota_tokens: z.number().int().nullable().describe('null: unlimited'),
  used_tokens: z.number().int(),
  reserved_tokens: z.number().int().describe('Held by requests in flight'),
  remaining_tokens: z.number().int().nullable().describe('null: unlimited'),
  by_model: z.array(z.object({ model: z.string(), ...tokens, requests: z.number().int() })),
});

export const keyUsageSchema = z.object({
  key_id: z.uuid(),
  from: z.string(),
  to: z.string(),
  quota_tokens: z.number().int().nullable(),
  current_period: ownUsageSchema.omit({ by_model: true, quota_tokens: true }),
  periods: z.array(
    z.object({ period_start: z.string(), used_tokens: z.number().int(), reserved_tokens: z.number().int() }),
  ),
  by_model: z.array(z.object({ model: z.string(), ...totals })),
  by_day: z.array(z.object({ day: z.string(), model: z.string(), ...totals })),
});

export const aggregateUsageSchema = z.object({
  group_by: z.enum(['model', 'key', 'day']),
  from: z.string(),
  to: z.string(),
  data: z.array(
    z.object({
      model: z.string().optional(),
      key_id: z.string().optional(),
      label: z.string().optional(),
      day: z.string().optional(),
      ...totals,
    }),
  ),
});

export type KeyUsageQuery = z.infer<typeof keyUsageQuerySchema>;
export type AggregateUsageQuery = z.infer<typeof aggregateUsageQuerySchema>;
