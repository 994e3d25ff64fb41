import { z } from 'zod';
import { sqlText } from '../../common/validation/sql-safe';
import { maxTokens, openAiShape, samplingShape } from '../dto/sampling.schemas';

/**
 * POST /v1/responses, the stateless core of OpenAI's Responses API (docs/api.md). The shapes of
 * input items, tools and `text.format` are checked here only as far as every model needs them;
 * what the chat translation cannot express is refused there with `unsupported_parameter`, and an
 * upstream that speaks the Responses API gets the body as sent.
 */
const item = z.looseObject({ type: z.string().min(1).max(64).optional() });
const tool = z.looseObject({ type: z.string().min(1).max(64) });

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.string().min(1).max(64), name: z.string().max(128).optional() }),
]);

const formatName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, _ or - (at most 64)');

export const textFormatSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    name: formatName,
    schema: z.record(z.string(), z.unknown()),
    description: z.string().max(10_000).optional(),
    strict: z.boolean().nullable().optional(),
  }),
]);

export const responsesRequestSchema = z
  .looseObject({
    model: sqlText(200, { min: 1 }).optional(),
    input: z.union([z.string(), z.array(item).min(1).max(10_000)]),
    instructions: z.string().nullable().optional(),
    max_output_tokens: maxTokens,
    temperature: samplingShape.temperature,
    top_p: samplingShape.top_p,
    top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
    tools: z.array(tool).max(1000).nullable().optional(),
    tool_choice: toolChoice.nullable().optional(),
    parallel_tool_calls: z.boolean().nullable().optional(),
    text: z
      .looseObject({
        format: textFormatSchema.nullable().optional(),
        verbosity: z.enum(['low', 'medium', 'high']).nullable().optional(),
      })
      .nullable()
      .optional(),
    reasoning: z
      .looseObject({
        effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh']).nullable().optional(),
        summary: z.enum(['auto', 'concise', 'detailed']).nullable().optional(),
      })
      .nullable()
      .optional(),
    include: z.array(z.string().min(1).max(128)).max(64).nullable().optional(),
    truncation: z.enum(['auto', 'disabled']).nullable().optional(),
    stream: z.boolean().nullable().optional(),
    stream_options: z.looseObject({}).nullable().optional(),
    store: z.boolean().nullable().optional(),
    previous_response_id: z.string().max(256).nullable().optional(),
    metadata: openAiShape.metadata,
    service_tier: openAiShape.service_tier,
    user: samplingShape.user,
    safety_identifier: z.string().max(256).nullable().optional(),
    prompt_cache_key: z.string().max(1024).nullable().optional(),
  })
  .refine((b) => !b.stream_options || b.stream === true, {
    message: 'stream_options is only allowed with stream: true',
    path: ['stream_options'],
  });

export type ResponsesBody = z.infer<typeof responsesRequestSchema>;

const usage = z.object({
  input_tokens: z.number().int(),
  input_tokens_details: z.object({ cached_tokens: z.number().int() }),
  output_tokens: z.number().int(),
  output_tokens_details: z.object({ reasoning_tokens: z.number().int() }),
  total_tokens: z.number().int(),
});

const outputItem = z.union([
  z.object({
    type: z.literal('message'),
    id: z.string(),
    status: z.enum(['completed', 'incomplete']),
    role: z.literal('assistant'),
    content: z.array(
      z.union([
        z.object({ type: z.literal('output_text'), text: z.string(), annotations: z.array(z.unknown()) }),
        z.object({ type: z.literal('refusal'), refusal: z.string() }),
      ]),
    ),
  }),
  z.object({
    type: z.literal('function_call'),
    id: z.string(),
    call_id: z.string(),
    name: z.string(),
    arguments: z.string(),
    status: z.enum(['completed', 'incomplete']),
  }),
]);

/** The Response object, for the OpenAPI description (the echo fields are listed in docs/api.md). */
export const responseObjectSchema = z.looseObject({
  id: z.string(),
  object: z.literal('response'),
  created_at: z.number().int(),
  status: z.enum(['completed', 'incomplete', 'failed']),
  incomplete_details: z.object({ reason: z.string() }).nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  model: z.string(),
  output: z.array(outputItem),
  usage: usage,
});
