import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { config as loadDotenv } from 'dotenv';
import { createApp, type RunningApp } from './app.factory';
import { ConfigError, loadConfig } from './config/app-config';

async function main(): Promise<void> {
  if (existsSync('.env')) loadDotenv({ path: '.env', quiet: true });
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`llm-server: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  // The embedded database is chatty: show its lines at debug level, its problems always.
  const verbose = config.logLevel === 'debug' || config.logLevel === 'trace';
  const bootLog = (line: string) => {
    if (verbose || /\b(ERROR|FATAL|PANIC)\b|embedded PostgreSQL|initialising|orphaned|port \d+ is taken/.test(line)) {
      process.stderr.write(`${line}\n`);
    }
  };
  // The embedded PostgreSQL runs in its own session, so a Ctrl+C (SIGINT to the terminal's
  // process group), a supervisor's SIGTERM or a closed terminal (SIGHUP) reach only us: we drain,
  // flush, then stop it. A signal during boot exits at once (exit hooks stop what was started).
  // Repeats are ignored: npm forwards the signal its group already got, and systemd signals every
  // process of the unit, so one stop request often arrives twice. See docs/embedded-database.md.
  let running: RunningApp | undefined = undefined;
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      if (!running) process.exit(1);
      stopping = true;
      shutdownAndExit(running, 0);
    });
  }
  running = await createApp(config, { bootLog });
  try {
    await running.app.listen({ port: config.http.port, host: config.http.host });
  } catch (err) {
    process.stderr.write(`llm-server failed to start: ${(err as Error)?.message ?? String(err)}\n`);
    stopping = true;
    shutdownAndExit(running, 1);
    return;
  }
  // The first screen: on stderr, apart from the JSON log lines on stdout (docs/first-start.md).
  process.stderr.write(running.startBanner());
}

function shutdownAndExit(running: RunningApp, code: number): void {
  running
    .shutdown()
    .then(() => process.exit(code))
    .catch((err) => {
      process.stderr.write(`shutdown failed: ${(err as Error).stack}\n`);
      process.exit(1);
    });
}

main().catch((err) => {
  process.stderr.write(`llm-server failed to start: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});
