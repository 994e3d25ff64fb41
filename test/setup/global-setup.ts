import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres.launcher';
import { BUNDLED_ENCODER_DIR, BUNDLED_MODEL_DIR } from '../../src/models/bundled-model';
import { ensureDefaultModel } from '../../src/model-tools/default-model';
import { ensureBundledEncoder } from '../../src/model-tools/encoder/bundled-encoder';

/**
 * Tests run against a real PostgreSQL: the one in DATABASE_URL, or else an embedded one started
 * here (it cannot load inside jest's sandbox), exactly as a fresh machine would run it. Everything
 * it writes stays in one temp folder, removed by the teardown (or here, if the start fails).
 */
export default async function globalSetup(): Promise<void> {
  // Tests that run the built server (test/cli, test/stack) serve the bundled model, which
  // `npm start` would have generated first.
  await ensureDefaultModel(BUNDLED_MODEL_DIR());
  await ensureBundledEncoder(BUNDLED_ENCODER_DIR());
  if (process.env.DATABASE_URL) return;
  const root = mkdtempSync(join(tmpdir(), 'llm-server-test-pg-'));
  // Run as root, PostgreSQL runs as `postgres`, which must pass through this folder; anything it
  // cannot reach (a clone in /root) goes to `shared` here, never to the system-wide default.
  chmodSync(root, 0o755);
  try {
    const pg = await startEmbeddedPostgres({ dataDir: join(root, 'data'), sharedDir: join(root, 'shared'), port: 0 });
    process.env.DATABASE_URL = pg.url;
    process.env.LLM_TEST_EMBEDDED_PG_DIR = root;
    (globalThis as Record<string, unknown>).__embeddedPg = pg;
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}
