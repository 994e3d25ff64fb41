import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { SqlLogger } from './sql-logger';

/** The one DataSource definition, shared by the app and the migration command. */
export function buildDataSourceOptions(url: string, poolSize: number): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: [],
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: ['error', 'migration'],
    logger: new SqlLogger(),
    extra: { max: poolSize, application_name: 'llm-server' },
  };
}
