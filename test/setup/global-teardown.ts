import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const pg = (globalThis as Record<string, unknown>).__embeddedPg as { stop(): Promise<void> } | undefined;
  if (!pg) return;
  await pg.stop();
  const dir = process.env.LLM_TEST_EMBEDDED_PG_DIR;
  if (dir) rmSync(dir, { recursive: true, force: true });
}
