import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** Daily usage rollups (dashboards query these by name) and the quota ledger's durable copy. */
export class CreateUsageTables1764316900000 implements MigrationInterface {
  name = 'CreateUsageTables1764316900000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE usage_daily (
        day                date NOT NULL,
        key_id             uuid NOT NULL REFERENCES api_keys(id),
        model              text NOT NULL,
        requests           bigint NOT NULL DEFAULT 0,
        prompt_tokens      bigint NOT NULL DEFAULT 0,
        completion_tokens  bigint NOT NULL DEFAULT 0,
        cached_requests    bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (day, key_id, model)
      )`);
    // One key's days (admin per-key usage, GET /v1/usage); the primary key serves day ranges.
    await q.query(`CREATE INDEX usage_daily_key_day_idx ON usage_daily (key_id, day)`);
    await q.query(`
      CREATE TABLE quota_usage (
        key_id           uuid NOT NULL REFERENCES api_keys(id),
        period_start     timestamptz NOT NULL,
        used_tokens      bigint NOT NULL DEFAULT 0 CHECK (used_tokens >= 0),
        reserved_tokens  bigint NOT NULL DEFAULT 0 CHECK (reserved_tokens >= 0),
        updated_at       timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (key_id, period_start)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE quota_usage`);
    await q.query(`DROP TABLE usage_daily`);
  }
}
