import { z } from 'zod';
import { maxTokens, neutralOpenAiShape, samplingShape, streamOptionsSchema } from './sampling.schemas';
import { usageSchema } from './generate.schemas';

const textPart = z.strictObject({ type: z.literal('text'), text: z.string() });

/** Content may be a string or OpenAI's array of text parts (other modalities are refused). */
const content = z.union([z.string(), z.array(textPart, { error: 'only text content parts are supported' }).max(1000)]);

export const chatMessageSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: content.nullable().optional(),
  name: z.string().max(64).optional(),
  tool_call_id: z.string().max(256).optional(),
});

export const chatRequestSchema = z
  .strictObject({
    messages: z.array(chatMessageSchema).min(1).max(10_000),
    ...samplingShape,
    ...neutralOpenAiShape,
    max_tokens: maxTokens,
    max_completion_tokens: maxTokens,
    stream_options: streamOptionsSchema,
    top_logprobs: z.null().optional(),
    response_format: z
      .strictObject({ type: z.literal('text', { error: 'only response_format text is supported' }) })
      .nullable()
      .optional(),
    tools: z.array(z.unknown()).max(0, 'tools are not supported').nullable().optional(),
    tool_choice: z.literal('none', { error: 'tools are not supported' }).nullable().optional(),
    parallel_tool_calls: z.boolean().nullable().optional(),
  })
  .refine((b) => !b.stream_options || b.stream === true, {
    message: 'stream_options is only allowed with stream: true',
    path: ['stream_options'],
  });

export const chatCompletionSchema = z.object({
  id: z.string(),
  object: z.literal('chat.completion'),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      message: z.object({ role: z.literal('assistant'), content: z.string(), refusal: z.null() }),
      logprobs: z.null(),
      finish_reason: z.enum(['stop', 'length']),
    }),
  ),
  usage: usageSchema,
  system_fingerprint: z.string().nullable(),
});

export type ChatBody = z.infer<typeof chatRequestSchema>;
