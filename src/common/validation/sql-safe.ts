import { z } from 'zod';

/**
 * Shared refinements for every value that reaches PostgreSQL (docs/api.md, "Input that reaches
 * the database"). PostgreSQL refuses U+0000 in `text` and dates outside its range, which used to
 * surface as a 500; these turn such input into a 400 `invalid_request` naming the field.
 */

/** PostgreSQL cannot store U+0000 in text columns. */
export const NUL = '\u0000';

export function hasNul(s: string): boolean {
  return s.includes(NUL);
}

/** A string bound for a SQL parameter: no NUL byte, at most `max` characters. */
export function sqlText(max = 200, opts: { trim?: boolean; min?: number } = {}) {
  let s = z.string();
  if (opts.trim) s = s.trim();
  if (opts.min !== undefined) s = s.min(opts.min);
  return s.max(max).refine((v) => !hasNul(v), 'must not contain a NUL byte (U+0000)');
}

/** The date range both PostgreSQL `date` and JS `Date` handle without surprise. */
export const MIN_YEAR = 1970;
export const MAX_YEAR = 9999;

/** A real calendar day `YYYY-MM-DD` (UTC) within MIN_YEAR..MAX_YEAR. */
export const calendarDay = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
  .refine((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
  }, 'is not a calendar date')
  .refine((s) => {
    const year = Number(s.slice(0, 4));
    return year >= MIN_YEAR && year <= MAX_YEAR;
  }, `must be a date between ${MIN_YEAR}-01-01 and ${MAX_YEAR}-12-31`);

/** Model ids as the registry names them. */
export const modelIdText = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\w.:/@-]+$/, 'model ids use letters, digits and . _ - : / @');
