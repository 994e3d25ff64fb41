import { z } from 'zod';
import { modelIdText, sqlText } from '../../common/validation/sql-safe';

const MAX_QUOTA = 1e15;
const modelId = modelIdText;

export const keyLimitsShape = {
  quota_tokens: z.number().int().min(0).max(MAX_QUOTA).nullable().optional(),
  rpm: z.number().int().min(0).max(10_000_000).nullable().optional(),
  tpm: z.number().int().min(0).max(1_000_000_000).nullable().optional(),
  allowed_models: z
    .array(modelId)
    .max(1000)
    .refine((a) => new Set(a).size === a.length, 'must not repeat a model')
    .nullable()
    .optional(),
};

const label = sqlText(200, { trim: true, min: 1 });
const role = z.enum(['admin', 'user']);

export const createKeySchema = z.strictObject({ label, role: role.default('user'), ...keyLimitsShape });

export const updateKeySchema = z
  .strictObject({ label: label.optional(), role: role.optional(), active: z.boolean().optional(), ...keyLimitsShape })
  .refine((o) => Object.values(o).some((v) => v !== undefined), 'send at least one field to change');

export const listKeysQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: sqlText(200).optional(),
  active: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  role: role.optional(),
  label: sqlText(200).optional(),
});

export const keyIdParamSchema = z.strictObject({ id: z.uuid({ message: 'must be a key id (a UUID)' }) });

export const apiKeyRecordSchema = z.object({
  id: z.uuid(),
  label: z.string(),
  role,
  key_prefix: z.string().describe('The first characters of the key, for display'),
  status: z.enum(['active', 'inactive', 'revoked']),
  active: z.boolean(),
  quota_tokens: z.number().int().nullable(),
  rpm: z.number().int().nullable(),
  tpm: z.number().int().nullable(),
  allowed_models: z.array(z.string()).nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  last_used_at: z.string().nullable(),
  rotated_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
});

export const createdKeySchema = apiKeyRecordSchema.extend({
  key: z.string().describe('The plaintext key: shown this once, never again'),
});

export const keyListSchema = z.object({ data: z.array(apiKeyRecordSchema), next_cursor: z.string().nullable() });

export type CreateKeyBody = z.infer<typeof createKeySchema>;
export type UpdateKeyBody = z.infer<typeof updateKeySchema>;
export type ListKeysQuery = z.infer<typeof listKeysQuerySchema>;
export type ApiKeyDto = z.infer<typeof apiKeyRecordSchema>;
