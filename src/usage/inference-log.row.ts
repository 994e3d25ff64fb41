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
  /** /v1/generate, /v1/chat/completions, /v1/completions. */
  endpoint: string;
  promptTokens: number;
  completionTokens: number;
  /** The upstream gave no usage; the counts come from a tokenizer. */
  estimatedTokens?: boolean;
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

/** A sanitized row, ready for the batch insert: nothing in it can make PostgreSQL refuse the batch. */
export interface InferenceLogRow {
  id: string;
  createdAt: Date;
  requestId: string;
  keyId: string | null;
  model: string;
  provider: string | null;
  endpoint: string;
  promptTokens: number;
  completionTokens: number;
  estimatedTokens: boolean;
  cached: boolean;
  status: number;
  errorCode: string | null;
  finishReason: string | null;
  latencyMs: number;
  ttftMs: number | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INT4_MAX = 2_147_483_647;

const text = (v: unknown, max: number): string => (typeof v === 'string' ? v : String(v ?? '')).slice(0, max);
const optText = (v: unknown, max: number): string | null => (v === null || v === undefined || v === '' ? null : text(v, max));
const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.min(Math.round(v), INT4_MAX) : 0);
const millis = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.min(v, 1e9) : null);

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
    cached: e.cached === true,
    status,
    errorCode: optText(e.errorCode, 64),
    finishReason: optText(e.finishReason, 32),
    latencyMs: millis(e.latencyMs) ?? 0,
    ttftMs: millis(e.timeToFirstTokenMs),
  };
}

/** RFC 9562 UUIDv7: 48-bit Unix milliseconds, then random bits (from randomUUID, which is pooled). */
export function uuidV7(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0').slice(-12);
  const rnd = randomUUID();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${rnd.slice(15, 18)}-${rnd.slice(19, 23)}-${rnd.slice(24)}`;
}
