import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Temp folders for tests: each one made here is removed when its test file ends, passed or
 * failed (one afterAll, registered when a test file first imports this helper). Tests must not
 * leave anything behind in /tmp (docs/testing.md).
 */
const made = new Set<string>();

if (typeof afterAll === 'function') afterAll(removeTempDirs);

/** A fresh, private (0700) folder named `llm-server-<prefix>-XXXXXX` under the OS temp folder. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `llm-server-${prefix}-`));
  made.add(dir);
  return dir;
}

/** Removes one folder now (it is also forgotten by the end-of-file cleanup). */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  made.delete(dir);
}

/** Everything made and not yet removed (the afterAll calls this; tests may call it earlier). */
export function removeTempDirs(): void {
  for (const dir of made) removeTempDir(dir);
}
