import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/cli-server';
import { cleanupSpawned, spawnInOwnSession, tempDir, watchDataDir } from '../helpers/spawned-process';

/**
 * The server closes its pool, then stops PostgreSQL. pg's pool reports itself ended before its
 * sockets are closed, so a fast shutdown sent at that moment kills sessions that were leaving:
 * FATAL "terminating connection" in the log, and an error event on the client. Stopping must be
 * clean every time. (The launcher cannot load inside jest's sandbox: it runs in a child.)
 */
describe('stopping the embedded PostgreSQL right after the pool closed', () => {
  afterAll(cleanupSpawned);

  it('logs no FATAL line and gives no client an error, start after start', async () => {
    const dir = tempDir('llm-server-cli-stop-', 0o755);
    const dataDir = join(dir, 'data');
    watchDataDir(dataDir);
    const script = join(dir, 'start-stop.js');
    writeFileSync(
      script,
      `
      const { startEmbeddedPostgres } = require(${JSON.stringify(join(REPO, 'dist/src/database/embedded-postgres.launcher.js'))});
      const { Pool } = require(${JSON.stringify(join(REPO, 'node_modules/pg'))});
      (async () => {
        const bad = [];
        for (let round = 0; round < 8; round++) {
          const pg = await startEmbeddedPostgres({
            dataDir: ${JSON.stringify(dataDir)}, sharedDir: ${JSON.stringify(join(dir, 'shared'))}, port: 0,
            log: (l) => { if (/FATAL|PANIC|terminating/.test(l)) bad.push(l); },
          });
          const pool = new Pool({ connectionString: pg.url, max: 5 });
          pool.on('error', (e) => bad.push('client error: ' + e.message));
          await Promise.all([1, 2, 3, 4, 5].map(() => pool.query('SELECT pg_sleep(0.02)')));
          await pool.end();
          await pg.stop();
        }
        console.log(JSON.stringify(bad));
      })().catch((e) => { console.error(e); process.exit(1); });
      `,
    );
    const child = spawnInOwnSession('start/stop rounds', process.execPath, [script], {
      cwd: dir,
      env: { ...process.env },
    });
    const { code } = await child.waitExit(75_000);
    expect({ code, stderr: child.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(child.stdout)).toEqual([]);
  }, 90_000);
});
