import type { Formatter } from '../http/respond';
import type { InferenceRun } from '../inference-call';
import type { StreamEvent } from '../../models/provider.interface';
import { usageBody } from './usage';

const latency = (run: InferenceRun) => Math.round((performance.now() - run.startedAt) * 1000) / 1000;

/** The simple API: `{id, model, text, finish_reason, usage, cached, latency_ms}`; streamed as text deltas then a final summary. */
export const generateFormat: Formatter = {
  complete: (run, r) => ({
    id: `gen-${run.id}`,
    model: run.model,
    text: r.text,
    finish_reason: r.finishReason,
    usage: usageBody(r.usage),
    cached: run.cache === 'hit',
    latency_ms: latency(run),
  }),
  chunks(run: InferenceRun, e: StreamEvent) {
    if (e.type === 'delta') return e.text ? [{ id: `gen-${run.id}`, model: run.model, text: e.text }] : [];
    return [
      {
        id: `gen-${run.id}`,
        model: run.model,
        text: '',
        finish_reason: e.finishReason,
        usage: usageBody(e.usage),
        cached: run.cache === 'hit',
        latency_ms: latency(run),
      },
    ];
  },
};
