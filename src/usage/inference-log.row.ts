import { randomUUID } from 'node:crypto';

/** One inference call as the pipeline reports it (success, error or cache hit). */
export interface InferenceLogEntry {
  requestId: string;
  /** null when the call failed before a key was authenticated. */
  keyId: string | null;
  /** The model id the call resolved to (or the name asked for, when it did not resolve). */
  model: string;
  /** onnx | http | null (not reached: rejected, cache hit, unknown model). */
  provider: string | null;
  /** /v1/generate, /v1/chat/completions, /v1/completions, /v1/responses. */
  endpoint: string;
  promptTokens: number;
  completionTokens: number;
  /** The upstream gave no usage; the counts come from a tokenizer. */
  estimatedTokens?: boolean;
  /** Of promptTokens, served from the upstream's prompt cache (when it said). */
  cachedPromptTokens?: number | null;
  /** Of completionTokens, reasoning tokens (when the upstream said). */
  reasoningTokens?: number | null;
  cached: boolean;
  /** HTTP status the client got. */
  status: number;
  errorCode?: string | null;
  finishReason?: string | null;
  latencyMs: number;
  timeToFirstTokenMs?: number | null;
  /** Defaults to the moment record() is called. */
  createdAt?: Date;
}

/**
 * A sanitized row, ready for the batch insert: nothing in it can make PostgreSQL refuse the batch.
 * Every field of the entry, defaults applied (time to first token as `ttftMs`), plus its id.
 */
export type InferenceLogRow = Omit<Required<InferenceLogEntry>, 'timeToFirstTokenMs'> & {
  id: string;
  ttftMs: number | null;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INT4_MAX = 2_147_483_647;

/**
 * PostgreSQL refuses U+0000 in text, and a request's own model name can carry one: replaced, not
 * dropped, so the row is still written (docs/observability.md). Cut by code point, never inside
 * a surrogate pair.
 */
const text = (v: unknown, max: number): string => {
  const s = (typeof v === 'string' ? v : String(v ?? '')).replaceAll('\u0000', '\uFFFD');
  return s.length <= max ? s : s.slice(0, max).replace(/[\uD800-\uDBFF]$/, '');
};
const optText = (v: unknown, max: number): string | null =>
  v === null || v === undefined || v === '' ? null : text(v, max);
const count = (v: unknown): number =>
  typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.min(Math.round(v), INT4_MAX) : 0;
const optCount = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.min(Math.round(v), INT4_MAX) : null;
const millis = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.min(v, 1e9) : null;

/**
 * Clamps and truncates whatever the pipeline passes, so one odd value never poisons a batch of
 * other requests' rows. The id is a time-ordered UUID (v7): inserts append to the primary key
 * index, and a retried batch is deduplicated by it.
 */
export function toRow(e: InferenceLogEntry, now = new Date()): InferenceLogRow {
  const createdAt = e.createdAt instanceof Date && !Number.isNaN(e.createdAt.getTime()) ? e.createdAt : now;
  const status = Number.isInteger(e.status) && e.status >= 100 && e.status <= 999 ? e.status : 0;
  return {
    id: uuidV7(createdAt.getTime()),
    createdAt,
    requestId: text(e.requestId, 128),
    keyId: typeof e.keyId === 'string' && UUID.test(e.keyId) ? e.keyId : null,
    model: text(e.model, 200),
    provider: optText(e.provider, 32),
    endpoint: text(e.endpoint, 100),
    promptTokens: count(e.promptTokens),
    completionTokens: count(e.completionTokens),
    estimatedTokens: e.estimatedTokens === true,
    cachedPromptTokens: optCount(e.cachedPromptTokens),
    reasoningTokens: optCount(e.reasoningTokens),
    cached: e.cached === true,
    status,
    errorCode: optText(e.errorCode, 64),
    finishReason: optText(e.finishReason, 32),
    latencyMs: millis(e.latencyMs) ?? 0,
    ttftMs: millis(e.timeToFirstTokenMs),
  };
}

/**
 * The last resort for a row the database still refused: every text field reduced to printable
 * ASCII (other characters as \\uXXXX), so the audit row is written whatever its content.
 */
export function asciiRow(row: InferenceLogRow): InferenceLogRow {
  const ascii = (s: string, max: number) =>
    s.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).slice(0, max);
  return {
    ...row,
    requestId: ascii(row.requestId, 128),
    model: ascii(row.model, 200),
    provider: row.provider === null ? null : ascii(row.provider, 32),
    endpoint: ascii(row.endpoint, 100),
    errorCode: row.errorCode === null ? null : ascii(row.errorCode, 64),
    finishReason: row.finishReason === null ? null : ascii(row.finishReason, 32),
  };
}

/** RFC 9562 UUIDv7: 48-bit Unix milliseconds, then random bits (from randomUUID, which is pooled). */
export function uuidV7(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0').slice(-12);
  const rnd = randomUUID();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${rnd.slice(15, 18)}-${rnd.slice(19, 23)}-${rnd.slice(24)}`;
}
