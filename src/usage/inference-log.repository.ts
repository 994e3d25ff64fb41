import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { InferenceLogRow } from './inference-log.row';

const COLUMNS: [keyof InferenceLogRow, string, string][] = [
  ['id', 'id', 'uuid'],
  ['createdAt', 'created_at', 'timestamptz'],
  ['requestId', 'request_id', 'text'],
  ['keyId', 'key_id', 'uuid'],
  ['model', 'model', 'text'],
  ['provider', 'provider', 'text'],
  ['endpoint', 'endpoint', 'text'],
  ['promptTokens', 'prompt_tokens', 'int4'],
  ['completionTokens', 'completion_tokens', 'int4'],
  ['estimatedTokens', 'estimated_tokens', 'bool'],
  ['cachedPromptTokens', 'cached_prompt_tokens', 'int4'],
  ['reasoningTokens', 'reasoning_tokens', 'int4'],
  ['cached', 'cached', 'bool'],
  ['status', 'status', 'int2'],
  ['errorCode', 'error_code', 'text'],
  ['finishReason', 'finish_reason', 'text'],
  ['latencyMs', 'latency_ms', 'float4'],
  ['ttftMs', 'ttft_ms', 'float4'],
];

const NEEDS_ESCAPE = /["\\]/;

/**
 * One column of the batch as a PostgreSQL array literal. pg's generic conversion quotes and
 * regex-escapes every element and formats dates in local time; a row costs 18 of them, so this
 * runs per request: text is quoted (escaped only when needed), timestamps go as UTC ISO strings,
 * uuids, numbers and booleans as they are (toRow made them valid).
 */
export function arrayLiteral(values: unknown[], type: string): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const v = values[i];
    if (v === null || v === undefined) out += 'NULL';
    else if (type === 'text') {
      const text = v as string;
      out += NEEDS_ESCAPE.test(text) ? `"${text.replace(/["\\]/g, '\\$&')}"` : `"${text}"`;
    } else if (v instanceof Date) out += `"${v.toISOString()}"`;
    else out += String(v);
  }
  return out + '}';
}

// One array parameter per column: the statement text and parameter count stay the same whatever
// the batch size. ON CONFLICT makes a retried batch (commit acknowledged late or lost) harmless.
const INSERT_SQL = `INSERT INTO inference_logs (${COLUMNS.map((c) => c[1]).join(', ')})
  SELECT * FROM unnest(${COLUMNS.map((c, i) => `$${i + 1}::${c[2]}[]`).join(', ')})
  ON CONFLICT (id) DO NOTHING`;

/** `count(*)::int AS n`: pg returns int4 as a number. */
interface CountRow {
  n: number;
}

/** SQL for inference_logs. */
@Injectable()
export class InferenceLogRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * One multi-row insert for the whole batch. A failure is logged by SqlLogger without its
   * parameters (docs/observability.md); the writer retries the batch and logs one line itself.
   */
  async insertMany(rows: InferenceLogRow[]): Promise<void> {
    if (!rows.length) return;
    await this.db.query(
      INSERT_SQL,
      COLUMNS.map(([field, , type]) =>
        arrayLiteral(
          rows.map((r) => r[field]),
          type,
        ),
      ),
    );
  }

  /**
   * Deletes up to `limit` rows older than `cutoff`, through the created_at index. SKIP LOCKED lets
   * replicas purging at the same moment take disjoint rows instead of queueing on each other.
   */
  async deleteOlderThan(cutoff: Date, limit: number): Promise<number> {
    const rows = await this.db.query<CountRow[]>(
      `WITH doomed AS (
         SELECT id FROM inference_logs WHERE created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED),
       gone AS (DELETE FROM inference_logs l USING doomed WHERE l.id = doomed.id RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [cutoff, limit],
    );
    return rows[0]?.n ?? 0;
  }
}
