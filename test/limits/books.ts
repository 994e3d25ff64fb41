import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { QuotaService } from '../../src/quota/quota.service';
import { InferenceLogWriter } from '../../src/usage/inference-log.writer';
import { UsageRecorder } from '../../src/usage/usage.recorder';
import type { TestApp } from '../helpers/test-app';
import { queryDb } from '../helpers/test-database';

/** What each record says a key spent: the quota ledger, the daily rollups and the per-request rows. */
export interface Books {
  ledger: number;
  reserved: number;
  usageDaily: number;
  logs: number;
}

/** Flushes every replica's write-behind buffers, then reads the three records of one key. */
export async function readBooks(apps: TestApp[], keyId: string): Promise<Books> {
  for (const a of apps) {
    await a.running.app.get(QuotaService).flush();
    await a.running.app.get(UsageRecorder).flush();
    await a.running.app.get(InferenceLogWriter).flush();
  }
  const db = apps[0].dbUrl;
  const [q] = await queryDb<{ used: number; reserved: number }>(
    db,
    `SELECT coalesce(sum(used_tokens), 0)::int AS used, coalesce(sum(reserved_tokens), 0)::int AS reserved FROM quota_usage WHERE key_id = $1`,
    [keyId],
  );
  const [u] = await queryDb<{ n: number }>(
    db,
    `SELECT coalesce(sum(prompt_tokens + completion_tokens), 0)::int AS n FROM usage_daily WHERE key_id = $1`,
    [keyId],
  );
  const [l] = await queryDb<{ n: number }>(
    db,
    `SELECT coalesce(sum(prompt_tokens + completion_tokens), 0)::int AS n FROM inference_logs WHERE key_id = $1`,
    [keyId],
  );
  return { ledger: q.used, reserved: q.reserved, usageDaily: u.n, logs: l.n };
}

export interface LogRow {
  status: number;
  error_code: string | null;
  key_id: string | null;
  prompt_tokens: number;
  completion_tokens: number;
}

/** The inference_logs row of one request, once the writer has flushed it. */
export async function logRow(apps: TestApp[], requestId: string): Promise<LogRow | undefined> {
  for (const a of apps) await a.running.app.get(InferenceLogWriter).flush();
  return (
    await queryDb<LogRow>(
      apps[0].dbUrl,
      `SELECT status, error_code, key_id, prompt_tokens, completion_tokens FROM inference_logs WHERE request_id = $1`,
      [requestId],
    )
  )[0];
}

/** Creates a key through the admin API; returns its secret and id. */
export async function createKey(app: TestApp, body: Record<string, unknown>): Promise<{ key: string; id: string }> {
  const res = await fetch(`${app.baseUrl}/admin/keys`, {
    method: 'POST',
    headers: { 'x-api-key': app.adminKey, 'content-type': 'application/json' },
    body: JSON.stringify({ label: 'books', rpm: 10_000, ...body }),
  });
  const created = (await res.json()) as { key: string; id: string };
  if (res.status !== 201 && res.status !== 200)
    throw new Error(`key not created: ${res.status} ${JSON.stringify(created)}`);
  return { key: created.key, id: created.id };
}

/** The value of one sample of the Prometheus text (0 when absent). */
export function metricValue(text: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.split(' ').pop());
  }
  return total;
}

/** Removes the temp folder writeModelsYaml made for a models file. */
export function removeModelsYaml(file: string | undefined): void {
  if (file) rmSync(dirname(file), { recursive: true, force: true });
}
