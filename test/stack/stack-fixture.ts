import { BUNDLED_MODEL_DIR } from '../../src/models/bundled-model';
import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { writeModelsYaml } from '../helpers/model-fixtures';
import { startTestApp, type TestApp } from '../helpers/test-app';

export const SLOW_DELTAS = ['Streams ', 'arrive ', 'piece ', 'by ', 'piece.'];

export interface StackApp {
  app: TestApp;
  /** The upstream of the `slow` model: `enqueue({kind: 'pause', afterDeltas})` holds a stream midway. */
  upstream: FakeOpenAIUpstream;
  close(): Promise<void>;
}

/**
 * The real api with two models: `tiny` (the bundled local model, generated if missing) and
 * `slow`, a remote model whose upstream streams on command, so a test can see a stream's first
 * pieces arrive while the rest has not been sent yet.
 */
export async function startStackApp(env: Record<string, string> = {}): Promise<StackApp> {
  const upstream = await FakeOpenAIUpstream.start({ deltas: SLOW_DELTAS, promptTokens: 9 });
  const yaml =
    `default_model: tiny\nmodels:\n  - id: tiny\n    provider: onnx\n    path: ${BUNDLED_MODEL_DIR()}\n` +
    `  - id: slow\n    provider: http\n    base_url: ${upstream.baseUrl}\n    timeout_ms: 20000\n    max_retries: 0\n`;
  const app = await startTestApp({ MODELS_CONFIG: writeModelsYaml(yaml), QUOTA_FLUSH_MS: '100', ...env });
  return {
    app,
    upstream,
    async close() {
      upstream.resume();
      await app.close();
      await upstream.stop();
    },
  };
}
