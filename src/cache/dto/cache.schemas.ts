import { z } from 'zod';

export const purgeCacheQuerySchema = z.strictObject({
  model: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[\w.:\/@-]+$/, 'model ids use letters, digits and . _ - : / @')
    .optional()
    .describe('Purge only this model (the resolved id); all models when absent'),
});

export const purgeCacheResultSchema = z.object({
  deleted: z.number().int().describe('Entries deleted from PostgreSQL (L1 is purged too)'),
});

export type PurgeCacheQuery = z.infer<typeof purgeCacheQuerySchema>;
