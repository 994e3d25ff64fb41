import type { LoggerService } from '@nestjs/common';
import type { Level, Logger } from 'pino';

/**
 * Nest's own start-up chatter (one line per module and per route) is noise on the first screen:
 * it goes out at debug level instead of info.
 */
const BOOT_CONTEXTS = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication']);

/**
 * Nest's LoggerService on one root pino logger. Nest calls `log(message, ...params, context)`;
 * an object (or Error) as the message becomes pino's merging object, as pino users expect.
 * (We log each request once from the request observer, so no per-request child loggers or
 * AsyncLocalStorage are needed: see docs/observability.md.)
 */
export class PinoNestLogger implements LoggerService {
  constructor(readonly root: Logger) {}

  verbose(message: unknown, ...params: unknown[]): void {
    this.call('trace', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.call('debug', message, params);
  }
  log(message: unknown, ...params: unknown[]): void {
    this.call('info', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.call('warn', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.call('error', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.call('fatal', message, params);
  }

  private call(level: Level, message: unknown, params: unknown[]): void {
    const fields: Record<string, unknown> = {};
    let rest = params;
    if (params.length > 0) {
      // Nest appends the context as the last parameter.
      fields.context = params[params.length - 1];
      rest = params.slice(0, -1);
      if (level === 'info' && BOOT_CONTEXTS.has(String(fields.context))) level = 'debug';
    }
    if (!this.root.isLevelEnabled(level)) return;
    if (message instanceof Error) {
      fields.err = message;
      this.root[level](fields, ...(rest as [string?]));
    } else if (typeof message === 'object' && message !== null) {
      this.root[level]({ ...fields, ...message }, ...(rest as [string?]));
    } else if (level === 'error' && rest.length === 1 && typeof rest[0] === 'string' && /\n\s*at /.test(rest[0])) {
      // Nest's exception handlers call error(message, stack, context).
      const err = new Error(String(message));
      err.stack = rest[0];
      this.root.error({ ...fields, err });
    } else {
      this.root[level](fields, String(message), ...(rest as []));
    }
  }
}
