import type { Formatter } from '../http/respond';
import type { InferenceRun } from '../inference-call';
import type { StreamEvent } from '../../models/provider.interface';
import { envelope, usageBody } from './usage';

/** OpenAI `chat.completion` and `chat.completion.chunk` objects. */
export function chatFormat(includeUsage: boolean): Formatter {
  const base = (run: InferenceRun) => envelope(run, 'chatcmpl');
  return {
    complete: (run, r) => ({
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
    }),
    chunks(run: InferenceRun, e: StreamEvent, first: boolean) {
      const chunk = (delta: object, finish: string | null) => ({
        ...base(run),
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
        ...(includeUsage ? { usage: null } : {}),
      });
      const out: unknown[] = [];
      if (first) out.push(chunk({ role: 'assistant', content: '', refusal: null }, null));
      if (e.type === 'delta') {
        if (e.text) out.push(chunk({ content: e.text }, null));
        return out;
      }
      out.push(chunk({}, e.finishReason));
      if (includeUsage)
        out.push({ ...base(run), object: 'chat.completion.chunk', choices: [], usage: usageBody(e.usage) });
      return out;
    },
  };
}
