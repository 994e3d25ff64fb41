import { type MigrationInterface, type QueryRunner } from 'typeorm';

export class CreateCompletionCache1764317000000 implements MigrationInterface {
  name = 'CreateCompletionCache1764317000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE completion_cache (
        cache_key      bytea PRIMARY KEY,        -- SHA-256 of model, version, input and parameters
        model          text NOT NULL,
        model_version  text,
        response       jsonb NOT NULL,           -- {text, finish_reason, usage:{prompt_tokens, completion_tokens}}
        created_at     timestamptz NOT NULL DEFAULT now(),
        expires_at     timestamptz NOT NULL,
        last_hit_at    timestamptz,
        hit_count      bigint NOT NULL DEFAULT 0
      )`);
    // The sweeper deletes expired rows oldest first.
    await q.query(`CREATE INDEX completion_cache_expires_idx ON completion_cache (expires_at)`);
    // Least recently used first when the table is over its size bound.
    await q.query(`CREATE INDEX completion_cache_lru_idx ON completion_cache ((COALESCE(last_hit_at, created_at)))`);
    // DELETE /admin/cache?model=...
    await q.query(`CREATE INDEX completion_cache_model_idx ON completion_cache (model)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE completion_cache`);
  }
}
