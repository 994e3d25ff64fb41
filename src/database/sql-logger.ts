import { Logger as NestLogger } from '@nestjs/common';
import type { Logger as TypeOrmLogger } from 'typeorm';

/**
 * TypeORM's console loggers print a failed query with its parameters, and those are key hashes,
 * labels and prompts. This one logs the SQLSTATE and the driver's message, never a parameter
 * value nor the SQL text (docs/observability.md, "What the logs never contain").
 */
export class SqlLogger implements TypeOrmLogger {
  private readonly logger = new NestLogger('Database');

  logQuery(): void {
    // Queries themselves are not logged (their parameters are user data).
  }

  logQueryError(error: string | Error): void {
    const code = typeof error === 'object' ? (error as { code?: unknown }).code : undefined;
    const message = typeof error === 'string' ? error : error.message;
    this.logger.error(`query failed${typeof code === 'string' ? ` (SQLSTATE ${code})` : ''}: ${message}`);
  }

  logQuerySlow(time: number): void {
    this.logger.warn(`slow query: ${time} ms`);
  }

  logSchemaBuild(message: string): void {
    this.logger.debug(message);
  }

  logMigration(message: string): void {
    this.logger.log(message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.logger.warn(String(message));
    else this.logger.debug(String(message));
  }
}

/**
 * pino's `err` serializer: a database error (TypeORM's QueryFailedError, pg's DatabaseError)
 * carries the query and its parameters; only its type, SQLSTATE, message and stack are kept.
 */
export function withoutSqlParameters(err: unknown): unknown {
  if (!err || typeof err !== 'object') return err;
  const e = err as Error & { code?: unknown; parameters?: unknown; driverError?: { code?: unknown }; query?: unknown };
  if (!('parameters' in e) && !('driverError' in e) && !('query' in e)) return err;
  const safe = new Error(e.message) as Error & { code?: unknown };
  safe.name = e.name;
  safe.stack = e.stack;
  safe.code = e.code ?? e.driverError?.code;
  return safe;
}
