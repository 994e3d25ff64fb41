/**
 * One server for the observability bench: the production module graph (AppModule.forRoot) plus
 * a cheap authenticated route, GET /bench/ping (the global key guard runs; the key is served from
 * the in-memory key cache). BENCH_OBSERVER=off replaces the request observer (metrics hook and
 * request log line) with a no-op; everything else is identical. Prints "READY <port>" on stderr.
 */
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { PinoNestLogger } from '../../src/common/logging/pino-nest.logger';
import { ApiKeysService } from '../../src/api-keys/api-keys.service';
import { AppModule } from '../../src/app.module';
import { requestIdFor } from '../../src/common/http/request-id';
import { loadConfig } from '../../src/config/app-config';
import { ResolvedDatabase } from '../../src/database/resolved-database';
import { RequestObserver } from '../../src/metrics/request-observer';

@Controller('bench')
class BenchController {
  @Get('ping')
  ping() {
    return { ok: true };
  }
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const db = await ResolvedDatabase.resolve(config, () => undefined);
  @Module({ imports: [AppModule.forRoot(config, db)], controllers: [BenchController] })
  class BenchModule {}
  let builder = Test.createTestingModule({ imports: [BenchModule] });
  if (process.env.BENCH_OBSERVER === 'off')
    builder = builder.overrideProvider(RequestObserver).useValue({ onModuleInit: () => undefined });
  const moduleRef = await builder.compile();
  // The same adapter options and request-id hook as createApp.
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.maxBodyBytes,
    genReqId: requestIdFor,
    requestIdHeader: false,
    forceCloseConnections: 'idle',
  });
  const app = moduleRef.createNestApplication<NestFastifyApplication>(adapter, { bufferLogs: true });
  app.useLogger(app.get(PinoNestLogger));
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', async (req, reply) => {
      reply.header('x-request-id', req.id);
    });
  await app.init();
  await app.get(ApiKeysService).bootstrap(config.auth.bootstrapKey, () => undefined);
  await app.listen({ port: config.http.port, host: '127.0.0.1' });
  process.stderr.write(`READY ${(app.getHttpServer().address() as { port: number }).port}\n`);
  process.once('SIGTERM', () => {
    void app.close().then(() => process.exit(0));
  });
}

main().catch((err) => {
  process.stderr.write(`bench server failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
