import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { ApiKeysService } from './api-keys/api-keys.service';
import { AppModule } from './app.module';
import { PinoNestLogger } from './common/logging/pino-nest.logger';
import { FlushRegistry } from './common/lifecycle/flush.registry';
import { requestIdFor } from './common/http/request-id';
import { setupOpenApi } from './common/openapi/openapi.setup';
import { AppConfig } from './config/app-config';
import { ResolvedDatabase } from './database/resolved-database';

export interface RunningApp {
  app: NestFastifyApplication;
  config: AppConfig;
  db: ResolvedDatabase;
  /** SIGTERM path: stop accepting, drain in-flight requests, flush buffers, close pools, stop the embedded database. */
  shutdown(): Promise<void>;
}

export interface CreateAppOptions {
  /** Prints the generated bootstrap key (once). Defaults to stdout. */
  announceKey?: (key: string) => void;
  /** Logs before the app's logger exists (embedded database start-up). */
  bootLog?: (line: string) => void;
}

/** Builds the whole application exactly as production runs it; tests use this too. */
export async function createApp(config: AppConfig, opts: CreateAppOptions = {}): Promise<RunningApp> {
  const db = await ResolvedDatabase.resolve(config, opts.bootLog ?? (() => undefined));
  let app: NestFastifyApplication;
  try {
    const adapter = new FastifyAdapter({
      bodyLimit: config.http.maxBodyBytes,
      genReqId: requestIdFor,
      requestIdHeader: false,
      // Idle keep-alive sockets close at shutdown; busy ones finish their request first.
      forceCloseConnections: 'idle',
      return503OnClosing: true,
    });
    app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, db), adapter, {
      bufferLogs: true,
      abortOnError: false,
    });
    app.useLogger(app.get(PinoNestLogger));
    const fastify = app.getHttpAdapter().getInstance();
    fastify.addHook('onRequest', async (req, reply) => {
      reply.header('x-request-id', req.id);
    });
    setupOpenApi(app);
    await app.init();
    await app.get(ApiKeysService).bootstrap(config.auth.bootstrapKey, opts.announceKey ?? printBootstrapKey);
  } catch (err) {
    await db.stop();
    throw err;
  }
  let shuttingDown: Promise<void> | undefined;
  const shutdown = () =>
    (shuttingDown ??= (async () => {
      const server = app.getHttpAdapter().getInstance();
      // Keep-alive sockets that were busy when closing began would otherwise stay open until
      // their keep-alive timeout: close each as soon as its request is done.
      const reaper = setInterval(() => server.server.closeIdleConnections(), 50);
      await withTimeout(server.close(), config.http.shutdownTimeoutMs);
      clearInterval(reaper);
      server.server.closeAllConnections();
      await app.get(FlushRegistry).flushAll();
      await app.close();
      await db.stop();
    })());
  return { app, config, db, shutdown };
}

function printBootstrapKey(key: string): void {
  // Deliberately not through the logger: it is shown once, to the operator, and never logged.
  process.stdout.write(
    `\n  No API keys yet: created an admin key. It is shown this once; keep it safe:\n\n    ${key}\n\n`,
  );
}

async function withTimeout(p: PromiseLike<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
