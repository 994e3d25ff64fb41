import { type MigrationInterface, type QueryRunner } from 'typeorm';

export class CreateApiKeys1764316800000 implements MigrationInterface {
  name = 'CreateApiKeys1764316800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_keys (
        id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        label           text NOT NULL,
        role            text NOT NULL CHECK (role IN ('admin', 'user')),
        key_hash        bytea NOT NULL,
        key_prefix      text NOT NULL,
        active          boolean NOT NULL DEFAULT true,
        quota_tokens    bigint CHECK (quota_tokens >= 0),
        rpm             integer CHECK (rpm >= 0),
        tpm             integer CHECK (tpm >= 0),
        allowed_models  text[],
        -- millisecond precision: the list's keyset cursor carries a JS Date
        created_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        last_used_at    timestamptz,
        rotated_at      timestamptz,
        revoked_at      timestamptz
      )`);
    // Auth looks keys up by hash on every cache miss.
    await q.query(`CREATE UNIQUE INDEX api_keys_key_hash_uq ON api_keys (key_hash)`);
    // Keyset pagination of the admin list, newest first.
    await q.query(`CREATE INDEX api_keys_created_id_idx ON api_keys (created_at DESC, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE api_keys`);
  }
}
