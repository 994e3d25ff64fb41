import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** One row per inference call, written in batches by InferenceLogWriter. */
export class CreateInferenceLogs1764317100000 implements MigrationInterface {
  name = 'CreateInferenceLogs1764317100000';

  async up(q: QueryRunner): Promise<void> {
    // No foreign key to api_keys: a log insert must never wait on, or fail because of, a key row.
    await q.query(`
      CREATE TABLE inference_logs (
        id                 uuid PRIMARY KEY,
        created_at         timestamptz NOT NULL,
        request_id         text NOT NULL,
        key_id             uuid,
        model              text NOT NULL,
        provider           text,
        endpoint           text NOT NULL,
        prompt_tokens      integer NOT NULL DEFAULT 0,
        completion_tokens  integer NOT NULL DEFAULT 0,
        estimated_tokens   boolean NOT NULL DEFAULT false,
        cached             boolean NOT NULL DEFAULT false,
        status             smallint NOT NULL,
        error_code         text,
        finish_reason      text,
        latency_ms         real NOT NULL,
        ttft_ms            real
      )`);
    // Time ranges (dashboards) and retention's oldest-first deletes.
    await q.query(`CREATE INDEX inference_logs_created_at_idx ON inference_logs (created_at)`);
    // One key's or one model's calls over a time range.
    await q.query(`CREATE INDEX inference_logs_key_created_idx ON inference_logs (key_id, created_at)`);
    await q.query(`CREATE INDEX inference_logs_model_created_idx ON inference_logs (model, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE inference_logs`);
  }
}
