import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { config as loadDotenv } from 'dotenv';
import { createApp } from './app.factory';
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
  const running = await createApp(config, { bootLog });
  await running.app.listen({ port: config.http.port, host: config.http.host });
  process.stderr.write(`llm-server listening on http://${config.http.host}:${config.http.port} (docs at /docs)\n`);

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      running
        .shutdown()
        .then(() => process.exit(0))
        .catch((err) => {
          process.stderr.write(`shutdown failed: ${(err as Error).stack}\n`);
          process.exit(1);
        });
    });
  }
}

main().catch((err) => {
  process.stderr.write(`llm-server failed to start: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});
