import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { ApiKeysService } from './api-keys/api-keys.service';
import { AppModule } from './app.module';
import { PinoNestLogger } from './common/logging/pino-nest.logger';
import { FlushRegistry, shutdownSummary } from './common/lifecycle/flush.registry';
import { requestIdFor } from './common/http/request-id';
import { answerWhileClosing, clientErrorHandler, frameworkErrors } from './common/http/wire-errors';
import { setupOpenApi } from './common/openapi/openapi.setup';
import { type AppConfig } from './config/app-config';
import { ResolvedDatabase } from './database/resolved-database';
import { type BootstrapKeyState, startBanner } from './start-banner';
import { uiDistDir } from './ui/ui.module';

export interface RunningApp {
  app: NestFastifyApplication;
  config: AppConfig;
  db: ResolvedDatabase;
  /** SIGTERM path: stop accepting, drain in-flight requests, flush buffers, close pools, stop the embedded database. */
  shutdown(): Promise<void>;
  /** The first screen, once listening: URLs, the generated admin key (first start only), a curl line. */
  startBanner(): string;
}

export interface CreateAppOptions {
  /** Receives the generated bootstrap key (once). By default it goes into startBanner(). */
  announceKey?: (key: string) => void;
  /** Logs before the app's logger exists (embedded database start-up). */
  bootLog?: (line: string) => void;
}

/** Builds the whole application exactly as production runs it; tests use this too. */
export async function createApp(config: AppConfig, opts: CreateAppOptions = {}): Promise<RunningApp> {
  const db = await ResolvedDatabase.resolve(config, opts.bootLog ?? (() => undefined));
  let app: NestFastifyApplication;
  let adminKey: BootstrapKeyState = { kind: config.auth.bootstrapKey ? 'configured' : 'existing' };
  try {
    const adapter = new FastifyAdapter({
      bodyLimit: config.http.maxBodyBytes,
      genReqId: requestIdFor,
      requestIdHeader: false,
      // Idle keep-alive sockets close at shutdown; busy ones finish their request first.
      forceCloseConnections: 'idle',
      // Requests arriving while closing get a 503 from answerWhileClosing instead (OpenAI shape).
      return503OnClosing: false,
      // Parser and router errors in the OpenAI error shape too (docs/api.md).
      clientErrorHandler,
      frameworkErrors,
    });
    app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, db), adapter, {
      bufferLogs: true,
      abortOnError: false,
    });
    app.useLogger(app.get(PinoNestLogger));
    const fastify = app.getHttpAdapter().getInstance();
    // A callback hook, not an async one: no promise per request.
    fastify.addHook('onRequest', (req, reply, done) => {
      reply.header('x-request-id', req.id);
      done();
    });
    answerWhileClosing(fastify);
    setupOpenApi(app);
    await app.init();
    await app.get(ApiKeysService).bootstrap(config.auth.bootstrapKey, (key) => {
      if (opts.announceKey) opts.announceKey(key);
      else adminKey = { kind: 'generated', key };
    });
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
      new Logger('Shutdown').log(shutdownSummary(await app.get(FlushRegistry).flushAll()));
      await app.close();
      await db.stop();
    })());
  const banner = () => {
    // Deliberately not through the logger: the key is shown once, to the operator, and never logged.
    const text = startBanner({
      address: app.getHttpServer().address(),
      adminKey,
      playground: existsSync(join(uiDistDir(), 'index.html')),
    });
    if (adminKey.kind === 'generated') adminKey = { kind: 'existing' };
    return text;
  };
  return { app, config, db, shutdown, startBanner: banner };
}

async function withTimeout(p: PromiseLike<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
