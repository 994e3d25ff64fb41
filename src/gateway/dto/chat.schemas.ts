import { z } from 'zod';
import { maxTokens, openAiShape, samplingShape, streamOptionsSchema } from './sampling.schemas';
import { usageSchema } from './generate.schemas';

/**
 * Content parts are checked only for their `type`: text parts must carry text; image_url,
 * input_audio, file and future parts pass through to remote models whole (docs/api.md, wire
 * fidelity). Local models refuse non-text parts with `unsupported_parameter`.
 */
const contentPart = z
  .looseObject({ type: z.string().min(1).max(64) })
  .refine((p) => p.type !== 'text' || typeof p.text === 'string', {
    message: 'a text content part needs text',
  });
const content = z.union([z.string(), z.array(contentPart).max(1000)]);

/** Loose: tool_calls, refusal, audio and future message fields are forwarded as sent. */
export const chatMessageSchema = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: content.nullable().optional(),
  name: z.string().max(64).optional(),
  tool_call_id: z.string().max(256).optional(),
  tool_calls: z.array(z.looseObject({})).max(1000).nullable().optional(),
});

/** Loose: fields we do not use reach the upstream as sent (models.yaml `params` decides). */
export const chatRequestSchema = z
  .looseObject({
    messages: z.array(chatMessageSchema).min(1).max(10_000),
    ...samplingShape,
    ...openAiShape,
    max_tokens: maxTokens,
    max_completion_tokens: maxTokens,
    stream_options: streamOptionsSchema,
    top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
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
      message: z.object({
        role: z.literal('assistant'),
        /** null when the answer is tool calls only. */
        content: z.string().nullable(),
        refusal: z.string().nullable(),
        tool_calls: z
          .array(
            z.object({
              id: z.string(),
              type: z.literal('function'),
              function: z.object({ name: z.string(), arguments: z.string() }),
            }),
          )
          .optional(),
      }),
      /** With `logprobs: true`: `content`, one entry per token (token, logprob, bytes, top_logprobs). */
      logprobs: z
        .looseObject({ content: z.array(z.looseObject({ token: z.string(), logprob: z.number() })).nullable() })
        .nullable(),
      /** Remote models: what the upstream said. */
      finish_reason: z.enum(['stop', 'length', 'tool_calls', 'content_filter', 'function_call']),
    }),
  ),
  usage: usageSchema,
  system_fingerprint: z.string().nullable(),
});

export type ChatBody = z.infer<typeof chatRequestSchema>;
