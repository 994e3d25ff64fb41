import { type DataSource } from 'typeorm';

/**
 * Applies pending migrations under a PostgreSQL advisory lock, so replicas starting together
 * on an empty database migrate once instead of colliding (the others wait, then find nothing
 * to do).
 */
export async function runMigrationsLocked(ds: DataSource): Promise<string[]> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query(`SELECT pg_advisory_lock(hashtext('llm-server:migrations'))`);
    try {
      const ran = await ds.runMigrations({ transaction: 'each' });
      return ran.map((m) => m.name);
    } finally {
      await runner.query(`SELECT pg_advisory_unlock(hashtext('llm-server:migrations'))`);
    }
  } finally {
    await runner.release();
  }
}
