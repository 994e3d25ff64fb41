import { z } from 'zod';
import { maxTokens, samplingShape } from './sampling.schemas';

export const generateRequestSchema = z.strictObject({
  prompt: z.string(),
  ...samplingShape,
  max_tokens: maxTokens,
});

export const usageSchema = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
});

export const generateResponseSchema = z.object({
  id: z.string(),
  model: z.string(),
  text: z.string(),
  finish_reason: z.enum(['stop', 'length']),
  usage: usageSchema,
  cached: z.boolean(),
  latency_ms: z.number(),
});

export type GenerateBody = z.infer<typeof generateRequestSchema>;
