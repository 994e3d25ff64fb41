import type { Formatter } from '../http/respond';
import type { InferenceRun } from '../inference-call';
import type { StreamEvent } from '../../models/provider.interface';
import { envelope, usageBody } from './usage';

/** OpenAI `text_completion` objects (streamed chunks have the same object type). */
export function completionsFormat(includeUsage: boolean): Formatter {
  const base = (run: InferenceRun) => ({ ...envelope(run, 'cmpl'), object: 'text_completion' });
  return {
    complete: (run, r) => ({
      ...base(run),
      choices: [{ text: r.text, index: 0, logprobs: null, finish_reason: r.finishReason }],
      usage: usageBody(r.usage),
    }),
    chunks(run: InferenceRun, e: StreamEvent) {
      const chunk = (text: string, finish: string | null) => ({
        ...base(run),
        choices: [{ text, index: 0, logprobs: null, finish_reason: finish }],
        ...(includeUsage ? { usage: null } : {}),
      });
      if (e.type === 'delta') return e.text ? [chunk(e.text, null)] : [];
      const out: unknown[] = [chunk('', e.finishReason)];
      if (includeUsage) out.push({ ...base(run), choices: [], usage: usageBody(e.usage) });
      return out;
    },
  };
}
