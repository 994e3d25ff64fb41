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
  const running = await createApp(config, { bootLog: (l) => process.stderr.write(`${l}\n`) });
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
