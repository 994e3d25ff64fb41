import { z } from 'zod';
import { sqlText } from '../../common/validation/sql-safe';

/** OpenAI caps a request at 2048 inputs; so do we. */
export const MAX_INPUTS = 2048;

const tokenId = z
  .int()
  .nonnegative()
  .max(2 ** 31 - 1);
const tokens = z.array(tokenId).min(1, 'a token array must not be empty').max(1_000_000);

/**
 * POST /v1/embeddings, OpenAI's shape (docs/embeddings.md) plus `truncate` (as TEI) and
 * `input_type` (`query` | `document`, picks the model's configured prefix). Unknown fields are
 * kept: remote models get the body as sent.
 */
export const embeddingsRequestSchema = z.looseObject({
  model: sqlText(200, { min: 1 }),
  input: z.union([
    sqlText(1_000_000),
    z.array(sqlText(1_000_000)).min(1, 'must not be empty').max(MAX_INPUTS),
    tokens,
    z.array(tokens).min(1, 'must not be empty').max(MAX_INPUTS),
  ]),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.int().positive().max(65_536).optional(),
  user: sqlText(256).optional(),
  truncate: z.boolean().optional(),
  input_type: z.enum(['query', 'document']).optional(),
});
export type EmbeddingsBody = z.infer<typeof embeddingsRequestSchema>;

export const embeddingsResponseSchema = z.object({
  object: z.literal('list'),
  data: z.array(
    z.object({
      object: z.literal('embedding'),
      index: z.int(),
      embedding: z.union([z.array(z.number()), z.string()]).describe('floats, or base64 of little-endian float32'),
    }),
  ),
  model: z.string(),
  usage: z.object({ prompt_tokens: z.int(), total_tokens: z.int() }),
});

/** The inputs as a list: one string, a list of strings, one token array, or a list of them. */
export function inputList(input: EmbeddingsBody['input']): Array<string | number[]> {
  if (typeof input === 'string') return [input];
  if (input.length > 0 && typeof input[0] === 'number') return [input as number[]];
  return input as Array<string | number[]>;
}
