import { z } from 'zod';
import { maxTokens, openAiShape, samplingShape, streamOptionsSchema } from './sampling.schemas';
import { usageSchema } from './generate.schemas';

export const completionRequestSchema = z
  .looseObject({
    /**
     * A prompt or OpenAI's batch forms (a list of prompts, token ids): the batch forms reach
     * remote models as sent; local models take one text prompt (docs/api.md).
     */
    prompt: z.union([
      z.string(),
      z.array(z.string()).min(1).max(2048),
      z.array(z.number().int()).min(1),
      z.array(z.array(z.number().int()).min(1)).min(1).max(2048),
    ]),
    ...samplingShape,
    ...openAiShape,
    logprobs: z
      .union([z.number().int().min(0).max(5), z.boolean()])
      .nullable()
      .optional(),
    max_tokens: maxTokens,
    stream_options: streamOptionsSchema,
    echo: z.boolean().nullable().optional(),
    best_of: z.number().int().min(1).max(20).nullable().optional(),
    suffix: z.string().nullable().optional(),
  })
  .refine((b) => !b.stream_options || b.stream === true, {
    message: 'stream_options is only allowed with stream: true',
    path: ['stream_options'],
  });

export const completionSchema = z.object({
  id: z.string(),
  object: z.literal('text_completion'),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.object({
      text: z.string(),
      index: z.number().int(),
      /** With `logprobs: N`: `tokens`, `token_logprobs`, `top_logprobs`, `text_offset`. */
      logprobs: z
        .looseObject({
          tokens: z.array(z.string()),
          token_logprobs: z.array(z.number()),
          text_offset: z.array(z.number().int()),
        })
        .nullable(),
      finish_reason: z.enum(['stop', 'length', 'content_filter']),
    }),
  ),
  usage: usageSchema,
  system_fingerprint: z.string().nullable(),
});

export type CompletionBody = z.infer<typeof completionRequestSchema>;
