import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const pg = (globalThis as Record<string, unknown>).__embeddedPg as { stop(): Promise<void> } | undefined;
  if (!pg) return;
  const dir = process.env.LLM_TEST_EMBEDDED_PG_DIR;
  try {
    await pg.stop();
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
