import { z } from 'zod';
import { maxTokens, neutralOpenAiShape, samplingShape, streamOptionsSchema } from './sampling.schemas';
import { usageSchema } from './generate.schemas';

export const completionRequestSchema = z
  .strictObject({
    /** One prompt; OpenAI's batch forms (arrays, token ids) are refused clearly. */
    prompt: z.union([
      z.string(),
      z
        .array(z.string())
        .length(1, 'only one prompt per request is supported')
        .transform((a) => a[0]),
    ]),
    ...samplingShape,
    ...neutralOpenAiShape,
    max_tokens: maxTokens,
    stream_options: streamOptionsSchema,
    echo: z.literal(false, { error: 'echo is not supported' }).nullable().optional(),
    best_of: z.literal(1, { error: 'only best_of = 1 is supported' }).nullable().optional(),
    suffix: z.null({ error: 'suffix is not supported' }).optional(),
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
      logprobs: z.null(),
      finish_reason: z.enum(['stop', 'length']),
    }),
  ),
  usage: usageSchema,
  system_fingerprint: z.string().nullable(),
});

export type CompletionBody = z.infer<typeof completionRequestSchema>;
