import { z } from 'zod';
import { modelIdText } from '../../common/validation/sql-safe';

export const purgeCacheQuerySchema = z.strictObject({
  model: modelIdText.optional().describe('Purge only this model (the resolved id); all models when absent'),
});

export const purgeCacheResultSchema = z.object({
  deleted: z.number().int().describe('Entries deleted from PostgreSQL (L1 is purged too)'),
});

export type PurgeCacheQuery = z.infer<typeof purgeCacheQuerySchema>;
