import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** The details of an upstream's usage: cached prompt tokens and reasoning tokens (null when not reported). */
export class AddInferenceLogTokenDetails1764317200000 implements MigrationInterface {
  name = 'AddInferenceLogTokenDetails1764317200000';

  async up(q: QueryRunner): Promise<void> {
    // Nullable without a default: adding them rewrites no rows.
    await q.query(
      `ALTER TABLE inference_logs ADD COLUMN cached_prompt_tokens integer, ADD COLUMN reasoning_tokens integer`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE inference_logs DROP COLUMN cached_prompt_tokens, DROP COLUMN reasoning_tokens`);
  }
}
