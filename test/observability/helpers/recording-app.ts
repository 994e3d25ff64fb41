import { createApp, type RunningApp } from '../../../src/app.factory';
import { loadConfig } from '../../../src/config/app-config';
import { MetricsService } from '../../../src/metrics/metrics.service';
import { type InferenceLogEntry } from '../../../src/usage/inference-log.row';
import { InferenceLogWriter } from '../../../src/usage/inference-log.writer';
import { TEST_ADMIN_KEY } from '../../helpers/test-app';

export const RECORD_PATH = '/__test/record';

export interface RecordingApp {
  running: RunningApp;
  baseUrl: string;
  writer: InferenceLogWriter;
  metrics: MetricsService;
  /** Requests that reached the test route's handler. */
  started: () => number;
  /** record() calls the test route made, in order. */
  recorded: string[];
}

/**
 * The production app (createApp) plus one test-only Fastify route that plays the inference
 * pipeline's part: it waits `delay_ms` (the "generation"), calls InferenceLogWriter.record() with
 * the body's fields and the request id, then answers. No model or inference endpoint needed.
 */
export async function startRecordingApp(dbUrl: string, env: Record<string, string> = {}): Promise<RecordingApp> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    BOOTSTRAP_API_KEY: TEST_ADMIN_KEY,
    DATABASE_URL: dbUrl,
    MODELS_CONFIG: './test/fixtures/none.yaml',
    ...env,
  });
  const running = await createApp(config, { announceKey: () => undefined });
  const writer = running.app.get(InferenceLogWriter);
  const recorded: string[] = [];
  let started = 0;
  running.app
    .getHttpAdapter()
    .getInstance()
    .post(RECORD_PATH, async (req) => {
      started++;
      const body = (req.body ?? {}) as Partial<InferenceLogEntry> & { delay_ms?: number };
      if (body.delay_ms) await new Promise((r) => setTimeout(r, body.delay_ms));
      writer.record({ ...entry(req.id), ...body, requestId: req.id } as InferenceLogEntry);
      recorded.push(req.id);
      return { ok: true };
    });
  await running.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = running.app.getHttpServer().address() as { port: number };
  return {
    running,
    baseUrl: `http://127.0.0.1:${port}`,
    writer,
    metrics: running.app.get(MetricsService),
    started: () => started,
    recorded,
  };
}

/** A typical successful call; tests override fields. */
export function entry(requestId: string, over: Partial<InferenceLogEntry> = {}): InferenceLogEntry {
  return {
    requestId,
    keyId: null,
    model: 'tiny',
    provider: 'onnx',
    endpoint: '/v1/generate',
    promptTokens: 5,
    completionTokens: 7,
    cached: false,
    status: 200,
    finishReason: 'stop',
    latencyMs: 12.5,
    timeToFirstTokenMs: 3.25,
    ...over,
  };
}
