import { request } from 'node:http';
import type { HttpAdapterHost } from '@nestjs/core';
import Fastify, { FastifyInstance } from 'fastify';
import pino from 'pino';
import { AppConfig } from '../config/app-config';
import { MetricsService } from './metrics.service';
import { annotateRequest } from './request-annotations';
import { RequestObserver } from './request-observer';

/** A bare Fastify with the observer's hooks and a pino logger writing into `lines`. */
async function harness(level: string) {
  const lines: Record<string, any>[] = [];
  const root = pino({ level }, { write: (s: string) => lines.push(JSON.parse(s)) });
  const fastify: FastifyInstance = Fastify();
  const metrics = new MetricsService({ observability: { metricsPerKey: false } } as AppConfig);
  const observer = new RequestObserver({ httpAdapter: { getInstance: () => fastify } } as unknown as HttpAdapterHost, metrics);
  observer.logger = () => root;
  observer.onModuleInit();
  fastify.post('/v1/generate', async (req) => {
    annotateRequest(req, { model: 'tiny', provider: 'onnx' });
    annotateRequest(req, { prompt: 'a private prompt', cached: true });
    return { ok: true };
  });
  fastify.get('/slow', async () => {
    await new Promise((r) => setTimeout(r, 300));
    return { ok: true };
  });
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  const port = (fastify.server.address() as { port: number }).port;
  return { lines, metrics, fastify, base: `http://127.0.0.1:${port}` };
}

describe(RequestObserver.name, () => {
  it('does log the annotated model, and the prompt only at debug level', async () => {
    for (const level of ['info', 'debug']) {
      const h = await harness(level);
      try {
        expect((await fetch(`${h.base}/v1/generate`, { method: 'POST' })).status).toBe(200);
        const line = h.lines.find((l) => l.msg === 'request completed');
        expect(line).toMatchObject({ route: '/v1/generate', status: 200, model: 'tiny', provider: 'onnx', cached: true });
        expect(line?.prompt).toBe(level === 'debug' ? 'a private prompt' : undefined);
      } finally {
        await h.fastify.close();
      }
    }
  });

  it('does count a request the client abandoned as 499, with a log line', async () => {
    const h = await harness('info');
    try {
      await new Promise<void>((resolve) => {
        const req = request(`${h.base}/slow`);
        req.on('error', () => resolve());
        req.end();
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 50);
      });
      await new Promise((r) => setTimeout(r, 400));
      const text = await h.metrics.scrape();
      expect(text).toContain('llm_http_requests_total{route="/slow",method="GET",status="499"} 1');
      expect(h.lines.find((l) => l.msg === 'request completed')).toMatchObject({ route: '/slow', status: 499, aborted: true, error_code: 'client_closed' });
      // Abandoned is not an error response.
      expect(text).toContain('llm_errors_total{code="other"} 0');
    } finally {
      await h.fastify.close();
    }
  });
});
