import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { config as loadDotenv } from 'dotenv';
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/app-config';
import { buildDataSourceOptions } from './data-source-options';
import { ResolvedDatabase } from './resolved-database';
import { runMigrationsLocked } from './run-migrations';

/** `npm run migration:run`: applies pending migrations (the server also does this at start). */
async function main(): Promise<void> {
  if (existsSync('.env')) loadDotenv({ path: '.env', quiet: true });
  const config = loadConfig(process.env);
  const db = await ResolvedDatabase.resolve(config, (l) => process.stderr.write(`${l}\n`));
  const ds = new DataSource(buildDataSourceOptions(db.url, 2));
  try {
    await ds.initialize();
    const ran = await runMigrationsLocked(ds);
    process.stdout.write(ran.length ? `applied: ${ran.join(', ')}\n` : 'no pending migrations\n');
  } finally {
    if (ds.isInitialized) await ds.destroy();
    await db.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`migration failed: ${(err as Error).message}\n`);
  process.exit(1);
});
