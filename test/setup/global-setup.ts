import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres.launcher';

/**
 * Tests run against a real PostgreSQL: the one in DATABASE_URL, or else an embedded one started
 * here (it cannot load inside jest's sandbox), exactly as a fresh machine would run it.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) return;
  const dataDir = mkdtempSync(join(tmpdir(), 'llm-server-test-pg-'));
  const pg = await startEmbeddedPostgres({ dataDir, port: 0 });
  process.env.DATABASE_URL = pg.url;
  process.env.LLM_TEST_EMBEDDED_PG_DIR = dataDir;
  (globalThis as Record<string, unknown>).__embeddedPg = pg;
}
