import { request } from 'node:http';
import type { HttpAdapterHost } from '@nestjs/core';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { type AppConfig } from '../config/app-config';
import { MetricsService } from './metrics.service';
import { annotateRequest } from './request-annotations';
import { RequestObserver } from './request-observer';

type LogLine = Record<string, unknown>;

/**
 * A bare Fastify with the observer's hooks and a pino logger writing into `lines`. `/slow` answers
 * only once the test releases it, so the test decides when the client hangs up (no timers).
 */
async function harness(level: string) {
  const lines: LogLine[] = [];
  const waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  const root = pino(
    { level },
    {
      write: (s: string) => {
        const line = JSON.parse(s);
        lines.push(line);
        for (const w of waiters.filter((w) => w.match(line))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      },
    },
  );
  /** The first log line that matches, now or when it is written. */
  const lineWhere = (match: (l: LogLine) => boolean) =>
    new Promise<LogLine>((resolve) => {
      const seen = lines.find(match);
      if (seen) resolve(seen);
      else waiters.push({ match, resolve });
    });
  const fastify: FastifyInstance = Fastify();
  const metrics = new MetricsService({ observability: { metricsPerKey: false } } as AppConfig);
  const observer = new RequestObserver(
    { httpAdapter: { getInstance: () => fastify } } as unknown as HttpAdapterHost,
    metrics,
  );
  observer.logger = () => root;
  observer.onModuleInit();
  fastify.post('/v1/generate', async (req) => {
    annotateRequest(req, { model: 'tiny', provider: 'onnx' });
    annotateRequest(req, { prompt: 'a private prompt', cached: true });
    return { ok: true };
  });
  let enteredSlow!: () => void;
  const slowEntered = new Promise<void>((r) => (enteredSlow = r));
  let releaseSlow!: () => void;
  const slowReleased = new Promise<void>((r) => (releaseSlow = r));
  fastify.get('/slow', async () => {
    enteredSlow();
    await slowReleased;
    return { ok: true };
  });
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  const port = (fastify.server.address() as { port: number }).port;
  return { lines, lineWhere, metrics, fastify, slowEntered, releaseSlow, base: `http://127.0.0.1:${port}` };
}

describe(RequestObserver.name, () => {
  it('does log the annotated model, and the prompt only at debug level', async () => {
    for (const level of ['info', 'debug']) {
      const h = await harness(level);
      try {
        expect((await fetch(`${h.base}/v1/generate`, { method: 'POST' })).status).toBe(200);
        const line = h.lines.find((l) => l.msg === 'request completed');
        expect(line).toMatchObject({
          route: '/v1/generate',
          status: 200,
          model: 'tiny',
          provider: 'onnx',
          cached: true,
        });
        expect(line?.prompt).toBe(level === 'debug' ? 'a private prompt' : undefined);
      } finally {
        await h.fastify.close();
      }
    }
  });

  it('does count a request the client abandoned as 499, with a log line', async () => {
    const h = await harness('info');
    try {
      const req = request(`${h.base}/slow`);
      req.on('error', () => undefined);
      req.end();
      await h.slowEntered;
      req.destroy();
      const line = await h.lineWhere((l) => l.msg === 'request completed');
      expect(line).toMatchObject({ route: '/slow', status: 499, aborted: true, error_code: 'client_closed' });
      // Let the handler answer late; close() waits for it, so its late end is seen below.
      h.releaseSlow();
      await h.fastify.close();
      const text = await h.metrics.scrape();
      expect(text).toContain('llm_http_requests_total{route="/slow",method="GET",status="499"} 1');
      // Abandoned is not an error response.
      expect(text).toContain('llm_errors_total{code="other"} 0');
      expect(h.lines.filter((l) => l.msg === 'request completed')).toHaveLength(1);
    } finally {
      h.releaseSlow();
      await h.fastify.close();
    }
  });
});
