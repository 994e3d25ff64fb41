import { z } from 'zod';

/**
 * The raw shape of models.yaml (snake_case, as users write it). Objects are `.strict()`: a
 * misspelt field is an error, not silently ignored. Every message completes the sentence
 * `field "x": ...`; a missing value says "is required".
 */
const says = (text: string) => ({
  error: (iss: { input?: unknown }) => (iss.input === undefined ? 'is required' : text),
});

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/;
const ID_RULE = 'must be 1-128 characters: letters, digits and . _ : / @ - (starting with a letter or digit)';
const modelId = z.string(says(ID_RULE)).regex(ID_RE, says(ID_RULE));
const posInt = z.int(says('must be a positive integer')).positive(says('must be a positive integer'));
const nonNegInt = z.int(says('must be an integer >= 0')).nonnegative(says('must be an integer >= 0'));
const text = z.string(says('must be a non-empty string')).trim().min(1, says('must be a non-empty string'));
const idList = z.array(modelId, says('must be a list of model ids'));

const common = {
  id: modelId,
  /** Other names clients may send as `model`. */
  aliases: idList.optional(),
  /** Tried in order when this model fails before producing output. */
  fallbacks: idList.optional(),
  /** Seconds a cached completion of this model stays valid. */
  cache_ttl: nonNegInt.optional(),
  context_length: posInt.optional(),
  /** Request fields this server does not know: forwarded (default), dropped, or refused (docs/api.md). */
  params: z.enum(['forward', 'drop', 'strict'], says('must be one of forward, drop, strict')).optional(),
  /** Request fields always removed before the model sees them (for upstreams that reject them). */
  drop_params: z.array(text, says('must be a list of field names')).optional(),
  /** `embeddings`: the model serves /v1/embeddings only (docs/embeddings.md). Default `chat`. */
  task: z.enum(['chat', 'embeddings'], says('must be one of chat, embeddings')).optional(),
  /** The token cap reserved (and, for a finite quota, sent) when a request names none; default 512. */
  default_max_tokens: posInt.optional(),
};

export const ONNX_FIELDS = [
  'path',
  'device',
  'dtype',
  'file',
  'variant',
  'max_batch_size',
  'max_queue',
  'threads',
  'tool_parser',
] as const;
export const HTTP_FIELDS = [
  'base_url',
  'upstream_model',
  'api_key_env',
  'timeout_ms',
  'max_retries',
  'extended_sampling',
  'circuit_breaker',
  'api',
  'max_tokens_field',
] as const;

export const onnxModelSchema = z
  .object({
    ...common,
    provider: z.literal('onnx'),
    /** Hugging Face layout folder; relative to the yaml file. */
    path: text,
    device: z.enum(['cpu', 'coreml', 'mps', 'cuda'], says('must be one of cpu, coreml, mps, cuda')).optional(),
    /** Which onnx/ file to load: fp32, fp16, q8, int8, uint8, q4, q4f16 (transformers.js naming). */
    dtype: text.optional(),
    /** An explicit graph file, relative to the model folder (or its onnx/ folder); wins over dtype. */
    file: text.optional(),
    /** Older name of `dtype`. */
    variant: text.optional(),
    max_batch_size: posInt.optional(),
    max_queue: posInt.optional(),
    threads: posInt.optional(),
    /** How the model writes tool calls (docs/local-models-api.md); detected from the chat template when omitted. */
    tool_parser: z
      .enum(['hermes', 'llama3_json', 'mistral'], says('must be one of hermes, llama3_json, mistral'))
      .optional(),
    /** Encoders (task: embeddings): see docs/embeddings.md. */
    pooling: z.enum(['mean', 'cls', 'last'], says('must be one of mean, cls, last')).optional(),
    normalize: z.boolean(says('must be true or false')).optional(),
    query_prefix: z.string(says('must be a string')).optional(),
    document_prefix: z.string(says('must be a string')).optional(),
    matryoshka_dimensions: z.array(posInt, says('must be a list of positive integers')).optional(),
    max_batch_tokens: posInt.optional(),
  })
  .strict();

const httpUrl = z.string(says('must be an http(s) URL')).refine((v) => {
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.search && !u.hash;
  } catch {
    return false;
  }
}, says('must be an http(s) URL without query or fragment, e.g. http://gpu-host:8000/v1'));

export const httpModelSchema = z
  .object({
    ...common,
    provider: z.literal('http'),
    base_url: httpUrl,
    upstream_model: text.optional(),
    api_key_env: z
      .string(says('must be an environment variable name'))
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, says('must be an environment variable name'))
      .optional(),
    timeout_ms: posInt.optional(),
    max_retries: nonNegInt.max(10, says('must be an integer from 0 to 10')).optional(),
    /** Send top_k / repetition_penalty upstream (vLLM, TGI, llama.cpp accept them; OpenAI does not). */
    extended_sampling: z.boolean(says('must be true or false')).optional(),
    circuit_breaker: z
      .object({ failure_threshold: posInt.optional(), cooldown_ms: posInt.optional() }, says('must be a mapping'))
      .strict()
      .optional(),
    /** What the upstream speaks: `responses` forwards /v1/responses requests whole (docs/api.md). */
    api: z.enum(['chat', 'responses'], says('must be one of chat, responses')).optional(),
    /** The field a cap the gateway adds goes in: OpenAI's reasoning models take only max_completion_tokens. */
    max_tokens_field: z
      .enum(['max_tokens', 'max_completion_tokens'], says('must be one of max_tokens, max_completion_tokens'))
      .optional(),
  })
  .strict();

export const modelsFileSchema = z
  .object(
    {
      default_model: modelId,
      models: z
        .array(
          z.discriminatedUnion('provider', [onnxModelSchema, httpModelSchema], says('must be one of onnx, http')),
          says('must be a list of models'),
        )
        .min(1, says('must list at least one model')),
    },
    says('must be a mapping with default_model and models'),
  )
  .strict();

export type RawModelsFile = z.infer<typeof modelsFileSchema>;
export type RawModel = RawModelsFile['models'][number];
