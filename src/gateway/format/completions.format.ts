import type { Formatter } from '../http/respond';
import type { InferenceRun } from '../inference-call';
import type { StreamEvent } from '../../models/provider.interface';
import { envelope, usageBody } from './usage';
import { WireFormat } from './wire-format';

/** OpenAI `text_completion` objects (streamed chunks have the same object type); a remote upstream's passed through. */
export function completionsFormat(includeUsage: boolean): Formatter {
  const base = (run: InferenceRun) => ({ ...envelope(run, 'cmpl'), object: 'text_completion' });
  const wire = new WireFormat('cmpl', includeUsage);
  return {
    complete: (run, r) =>
      wire.complete(run, r) ?? {
        ...base(run),
        choices: [{ text: r.text, index: 0, logprobs: null, finish_reason: r.finishReason }],
        usage: usageBody(r.usage),
      },
    chunks(run: InferenceRun, e: StreamEvent) {
      const chunk = (text: string, finish: string | null) => ({
        ...base(run),
        choices: [{ text, index: 0, logprobs: null, finish_reason: finish }],
        ...(includeUsage ? { usage: null } : {}),
      });
      if (e.type === 'delta') return wire.deltaChunks(run, e) ?? (e.text ? [chunk(e.text, null)] : []);
      const out: unknown[] = wire.wired ? [] : [chunk('', e.finishReason)];
      if (includeUsage) out.push(wire.usageChunk(run, e, base(run)));
      return out;
    },
  };
}
