import pino, { destination, stdSerializers, type Logger } from 'pino';
import { withoutSqlParameters } from '../../database/sql-logger';

/** The process's one pino logger: JSON lines on stdout. */
export function createRootLogger(level: string): Logger {
  return pino(
    {
      level,
      // A database error's SQL parameters (key hashes, labels) never reach the log (docs/observability.md).
      serializers: { err: (err: Error) => stdSerializers.err(withoutSqlParameters(err) as Error) },
      redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'], remove: true },
    },
    // Asynchronous writes: a slow stdout reader (a container's log pipe) never blocks the event
    // loop; under load, lines queued behind an in-flight write go out together.
    destination({ dest: 1, sync: false }),
  );
}
