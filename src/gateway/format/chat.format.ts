import type { Formatter } from '../http/respond';
import type { InferenceRun } from '../inference-call';
import type { StreamEvent } from '../../models/provider.interface';
import { envelope, usageBody } from './usage';
import { WireFormat } from './wire-format';

/** OpenAI `chat.completion` and `chat.completion.chunk` objects; a remote upstream's passed through. */
export function chatFormat(includeUsage: boolean): Formatter {
  const base = (run: InferenceRun) => envelope(run, 'chatcmpl');
  const wire = new WireFormat('chatcmpl', includeUsage);
  return {
    complete: (run, r) =>
      wire.complete(run, r) ?? {
        ...base(run),
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: r.text, refusal: null },
            logprobs: null,
            finish_reason: r.finishReason,
          },
        ],
        usage: usageBody(r.usage),
      },
    chunks(run: InferenceRun, e: StreamEvent, first: boolean) {
      const chunk = (delta: object, finish: string | null) => ({
        ...base(run),
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
        ...(includeUsage ? { usage: null } : {}),
      });
      if (e.type === 'delta') {
        const passed = wire.deltaChunks(run, e);
        if (passed) return passed;
      }
      const out: unknown[] = [];
      if (first) out.push(chunk({ role: 'assistant', content: '', refusal: null }, null));
      if (e.type === 'delta') {
        if (e.text) out.push(chunk({ content: e.text }, null));
        return out;
      }
      if (!wire.wired) out.push(chunk({}, e.finishReason));
      if (includeUsage) out.push(wire.usageChunk(run, e, { ...base(run), object: 'chat.completion.chunk' }));
      return out;
    },
  };
}
