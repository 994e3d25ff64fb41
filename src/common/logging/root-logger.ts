import pino, { destination, type Logger } from 'pino';

/** The process's one pino logger: JSON lines on stdout. */
export function createRootLogger(level: string): Logger {
  return pino(
    {
      level,
      redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'], remove: true },
    },
    // Asynchronous writes: a slow stdout reader (a container's log pipe) never blocks the event
    // loop; under load, lines queued behind an in-flight write go out together.
    destination({ dest: 1, sync: false }),
  );
}
