import type { GenerateResult, StreamEvent, WireObject } from '../provider.interface';

/**
 * A whole answer as stream events: one delta (carrying the upstream's whole object, if any) and
 * the `done`, whose `wireUsage` is the upstream's usage object when that is what was charged
 * (not an estimate).
 */
export function eventsOfResult(r: GenerateResult): StreamEvent[] {
  const out: StreamEvent[] = [];
  if (r.text || r.wire) out.push({ type: 'delta', text: r.text, ...(r.wire ? { whole: r.wire } : {}) });
  const u = r.wire?.usage;
  const wireUsage = !r.usage.estimated && u && typeof u === 'object' ? (u as WireObject) : undefined;
  out.push({ type: 'done', finishReason: r.finishReason, usage: r.usage, ...(wireUsage ? { wireUsage } : {}) });
  return out;
}
