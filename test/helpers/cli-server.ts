import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Spawned, spawnInOwnSession, tempDir, watchDataDir } from './spawned-process';

export const REPO = join(__dirname, '../..');
export const MAIN = join(REPO, 'dist/src/main.js');

/**
 * The environment `npm start` runs with on a fresh machine: no DATABASE_URL or REDIS_URL (so the
 * embedded PostgreSQL under DATA_DIR), the repository's models.yaml, a private TMPDIR (removed
 * afterwards, and it shows which temp files the server writes), a private EMBEDDED_PG_SHARED_DIR.
 */
export function serverEnv(dataDir: string, port: number, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  watchDataDir(dataDir);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    EMBEDDED_PG_PORT: '0',
    LOG_LEVEL: 'warn',
    CACHE_MODE: 'off',
    NODE_ENV: 'production',
    TMPDIR: tempDir('llm-server-cli-tmp-'),
    // Run as root, what the postgres user cannot reach goes here: never the real /var/lib in tests.
    EMBEDDED_PG_SHARED_DIR: tempDir('llm-server-cli-shared-', 0o755),
    ...extra,
  };
  for (const name of [
    'MODELS_CONFIG',
    'DATABASE_URL',
    'REDIS_URL',
    'BOOTSTRAP_API_KEY',
    'JEST_WORKER_ID',
    'npm_lifecycle_event',
  ]) {
    if (!(name in extra)) delete env[name];
  }
  return env;
}

/** `node dist/src/main.js` from the repository, in its own session. */
export function startBuiltServer(name: string, env: NodeJS.ProcessEnv): Spawned {
  return spawnInOwnSession(name, process.execPath, [MAIN], { cwd: REPO, env });
}

/**
 * A folder that `npm start` runs in exactly as in a clone, but without rebuilding: the real
 * package.json and scripts/start.js, dist/ linking to the repository's build with a fresh build
 * stamp, models linked. Sources are absent, so nothing is newer than the stamp.
 */
export function npmStartFolder(): string {
  const app = tempDir('llm-server-cli-app-');
  copyFileSync(join(REPO, 'package.json'), join(app, 'package.json'));
  mkdirSync(join(app, 'scripts'));
  copyFileSync(join(REPO, 'scripts/start.js'), join(app, 'scripts/start.js'));
  mkdirSync(join(app, 'dist'));
  for (const entry of readdirSync(join(REPO, 'dist'))) {
    if (entry !== '.start-build-stamp') symlinkSync(join(REPO, 'dist', entry), join(app, 'dist', entry));
  }
  writeFileSync(join(app, 'dist', '.start-build-stamp'), 'test\n');
  symlinkSync(join(REPO, 'models.yaml'), join(app, 'models.yaml'));
  symlinkSync(join(REPO, 'models'), join(app, 'models'));
  return app;
}

/** `npm start` in `folder`, in its own session (npm is the group leader, as in a terminal). */
export function startNpm(name: string, folder: string, env: NodeJS.ProcessEnv): Spawned {
  return spawnInOwnSession(name, 'npm', ['start'], { cwd: folder, env });
}

/** Ready once /healthz answers (the start banner's wording is not part of this contract). */
export function listening(port: number): () => Promise<boolean> {
  return async () => {
    try {
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200;
    } catch {
      return false;
    }
  };
}

/** The admin key the first start prints (in its banner). */
export function bootstrapKey(s: Spawned): string | undefined {
  return /(sk-[A-Za-z0-9_-]{40,})/.exec(`${s.stderr}\n${s.stdout}`)?.[1];
}

/**
 * The embedded database of a running server, from `npm run db:url` (scripts/db-url.js: port from
 * postmaster.pid, password from DATA_DIR), so the tests read the database the way the README's
 * backup notes do.
 */
export function embeddedDbUrl(dataDir: string): string {
  return execFileSync(process.execPath, [join(REPO, 'scripts/db-url.js')], {
    cwd: REPO,
    env: { ...process.env, DATA_DIR: dataDir },
    encoding: 'utf8',
  }).trim();
}

export interface ChatResult {
  status: number;
  requestId: string | null;
  totalTokens: number;
}

/** One non-streamed chat completion on the bundled model; network errors count as status 0. */
export async function chat(port: number, key: string, i: number, maxTokens = 12): Promise<ChatResult> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      // Bounded, so a hung request fails the test with its own message, not jest's timeout.
      signal: AbortSignal.timeout(20_000),
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({
        messages: [{ role: 'user', content: `request ${i}: say something` }],
        max_tokens: maxTokens,
      }),
    });
    const body = (await res.json()) as { usage?: { total_tokens: number } };
    return {
      status: res.status,
      requestId: res.headers.get('x-request-id'),
      totalTokens: body.usage?.total_tokens ?? 0,
    };
  } catch {
    return { status: 0, requestId: null, totalTokens: 0 };
  }
}
