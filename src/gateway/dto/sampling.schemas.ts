import { z } from 'zod';
import { sqlText } from '../../common/validation/sql-safe';

/** Sampling fields shared by /v1/generate, /v1/completions and /v1/chat/completions. */
export const stopSchema = z
  .union([z.string().min(1).max(500), z.array(z.string().min(1).max(500)).max(4)])
  .nullable()
  .optional();

export const samplingShape = {
  model: sqlText(200, { min: 1 }).optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().gt(0).max(1).nullable().optional(),
  /** Extension (vLLM-style): 0 = off. */
  top_k: z.number().int().min(0).max(100_000).nullable().optional(),
  /** Extension (vLLM-style): 1 = off. */
  repetition_penalty: z.number().gt(0).max(10).nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  stop: stopSchema,
  seed: z
    .number()
    .int()
    .min(-(2 ** 53) + 1)
    .max(2 ** 53 - 1)
    .nullable()
    .optional(),
  stream: z.boolean().nullable().optional(),
  user: z.string().max(256).optional(),
};

export const maxTokens = z.number().int().min(1).max(1_000_000).nullable().optional();

export const streamOptionsSchema = z.strictObject({ include_usage: z.boolean().optional() }).nullable().optional();

/** OpenAI fields we accept only in their neutral form: clients often send them as defaults. */
export const neutralOpenAiShape = {
  n: z.literal(1, { error: 'only n = 1 is supported' }).nullable().optional(),
  logprobs: z.union([z.literal(false), z.null()], { error: 'logprobs are not supported' }).optional(),
  logit_bias: z
    .record(z.string(), z.number())
    .refine((o) => Object.keys(o).length === 0, 'logit_bias is not supported')
    .nullable()
    .optional(),
  metadata: z.record(z.string().max(64), z.string().max(512)).nullable().optional(),
  store: z.boolean().nullable().optional(),
  service_tier: z.string().max(32).nullable().optional(),
};
