import { MetricsService } from '../../../src/metrics/metrics.service';
import type { TestApp } from '../../helpers/test-app';

/** The models the traffic below uses; `setKnownModels` gets exactly these. */
export const TRAFFIC_MODELS = ['tiny', 'big'];

/**
 * What `sendInferenceTraffic` produces, for the assertions: tokens and observation counts per
 * model, and one call with a model that is not configured (counted as model="other").
 */
export const EXPECTED_INFERENCE = {
  tokens: {
    tiny: { prompt: 30, completion: 12 },
    big: { prompt: 7, completion: 5 },
    other: { prompt: 3, completion: 1 },
  },
  inferences: { tiny: 3, big: 1, other: 1 },
  ttft: { tiny: 3, big: 1 },
  interToken: { tiny: 9 },
  cache: { l1: { hit: 2, miss: 2 }, l2: { hit: 1, miss: 1 } },
  cacheBypass: 1,
  rateLimited: { requests: 2, tokens: 1 },
  quotaExhausted: 1,
  upstream: { big: { success: 1, timeout: 1 } },
  modelUp: { tiny: 1, big: 0 },
  inflight: { tiny: 1 },
  queueDepth: { tiny: 2 },
  batchSizes: { tiny: [1, 4] },
};

/**
 * INFERENCE TRAFFIC — the spot the pipeline's author extends. The inference endpoints do not
 * call MetricsService yet, so this drives its methods directly, exactly as the pipeline will.
 * Once /v1/generate and friends record metrics, replace this body with real HTTP calls that
 * produce EXPECTED_INFERENCE (cache hits, a 429, a 402, a remote timeout ...).
 */
export async function sendInferenceTraffic(t: TestApp): Promise<void> {
  const m = t.running.app.get(MetricsService);
  m.setKnownModels(TRAFFIC_MODELS);
  for (let i = 0; i < 3; i++) {
    m.observeInference('tiny', 'onnx', 0.05 * (i + 1));
    m.observeTtft('tiny', 0.01);
    m.countTokens('tiny', 10, 4);
    for (let k = 0; k < 3; k++) m.observeInterToken('tiny', 0.004);
  }
  m.observeInference('big', 'http', 1.5);
  m.observeTtft('big', 0.3);
  m.countTokens('big', 7, 5);
  m.observeInference('made-up-model', 'http', 0.1);
  m.countTokens('made-up-model', 3, 1);
  m.cacheLookup('l1', 'hit');
  m.cacheLookup('l1', 'hit');
  m.cacheLookup('l1', 'miss');
  m.cacheLookup('l1', 'miss');
  m.cacheLookup('l2', 'hit');
  m.cacheLookup('l2', 'miss');
  m.cacheBypass();
  m.rateLimited('requests');
  m.rateLimited();
  m.rateLimited('tokens');
  m.quotaExhausted();
  m.upstreamOutcome('big', 'success');
  m.upstreamOutcome('big', 'timeout');
  m.setModelUp('tiny', true);
  m.setModelUp('big', false);
  m.setModelUp('made-up-model', true);
  m.inflight('tiny', +1);
  m.inflight('tiny', +1);
  m.inflight('tiny', -1);
  m.queueDepth('tiny', 2);
  m.batchSize('tiny', 1);
  m.batchSize('tiny', 4);
}
