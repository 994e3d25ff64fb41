import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/common/project-root';
import { makeTempDir } from '../helpers/temp-dir';

const ROOT = projectRoot();

/**
 * Runs a failing spec that uses the temp-folder helpers in a jest of its own, with TMPDIR pointing
 * at an empty folder: whatever the run leaves behind is there afterwards.
 */
describe('temp folders of a test run', () => {
  it('does leave none behind, even when the test fails', async () => {
    const tmp = makeTempDir('nested-run');
    // jest's own cache stays where the outer run keeps it (it would land in TMPDIR otherwise).
    const cache = join(tmpdir(), `jest_${process.getuid ? process.getuid().toString(36) : 'x'}`);
    const args = [
      join(ROOT, 'node_modules/.bin/jest'),
      '--runInBand',
      '--ci',
      `--cacheDirectory=${cache}`,
      '--testMatch',
      '**/test/e2e/fixtures/leaves-nothing.fixture.ts',
    ];
    const result = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        process.execPath,
        args,
        { cwd: ROOT, env: { ...process.env, TMPDIR: tmp }, timeout: 120_000 },
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
      );
    });
    expect(result.output).toContain('deliberate failure');
    expect(result.code).toBe(1);
    expect(readdirSync(tmp)).toEqual([]);
  }, 150_000);
});
