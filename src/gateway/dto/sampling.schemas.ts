import { z } from 'zod';
import { sqlText } from '../../common/validation/sql-safe';

/** Sampling fields shared by /v1/generate, /v1/completions and /v1/chat/completions. */
export const stopSchema = z
  .union([z.string().min(1).max(500), z.array(z.string().min(1).max(500)).max(4)], {
    error: 'expected a string or a list of up to 4 strings, each of 1 to 500 characters',
  })
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

/** Loose: options we do not use (e.g. include_obfuscation) are forwarded. */
export const streamOptionsSchema = z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional();

/**
 * OpenAI fields we check the type of; their values are forwarded as sent to remote models, and
 * local models refuse the ones that would change the output (docs/api.md, wire fidelity).
 */
export const openAiShape = {
  n: z.number().int().min(1).max(128).nullable().optional(),
  logprobs: z.boolean().nullable().optional(),
  logit_bias: z.record(z.string(), z.number()).nullable().optional(),
  metadata: z.record(z.string().max(64), z.string().max(512)).nullable().optional(),
  store: z.boolean().nullable().optional(),
  service_tier: z.string().max(32).nullable().optional(),
};
