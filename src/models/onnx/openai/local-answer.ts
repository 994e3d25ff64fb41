/**
 * The choices of one local request (n per prompt) as one stream of OpenAI chunks: each
 * sequence's events go through its choice writer as they arrive; the last `done` carries the
 * usage of every choice (each prompt counted once, as OpenAI counts it).
 */
import type { FinishReason, StreamEvent, WireObject } from '../../provider.interface';
import type { Sequence, SequenceEvent } from '../sequence';
import type { ChoiceWriter } from './choice-writer';

export interface LocalChoice {
  seq: Sequence;
  writer: ChoiceWriter;
}

export async function* localAnswer(
  choices: LocalChoice[],
  envelope: { object: 'chat.completion.chunk' | 'text_completion'; created: number; model: string },
  promptTokens: number,
): AsyncGenerator<StreamEvent> {
  const chunk = (entry: WireObject): WireObject => ({ id: '', ...envelope, choices: [entry] });
  let completionTokens = 0;
  let finishReason: FinishReason | undefined;
  for await (const [i, e] of merge(choices.map((c) => c.seq.events))) {
    const { seq, writer } = choices[i];
    const entries = e.type === 'delta' ? writer.delta(e.text, e.logprobs) : writer.finish(e.finishReason);
    if (e.type === 'done') {
      completionTokens += e.usage.completionTokens;
      const reason = entries[entries.length - 1]?.finish_reason as FinishReason | undefined;
      if (finishReason === undefined || reason === 'tool_calls') finishReason = reason;
    } else if (writer.wantsStop) seq.stopSoon();
    // `text` is the generated text (estimates and logs count it), once per sequence event.
    const text = e.type === 'delta' ? e.text : '';
    if (entries.length === 0 && text) yield { type: 'delta', text };
    for (let k = 0; k < entries.length; k++)
      yield { type: 'delta', text: k === 0 ? text : '', chunk: chunk(entries[k]) };
  }
  yield { type: 'done', finishReason: finishReason ?? 'stop', usage: { promptTokens, completionTokens } };
}

/** Events of several channels as they come, tagged with the channel's index; return() cancels all. */
async function* merge(channels: AsyncIterable<SequenceEvent>[]): AsyncGenerator<[number, SequenceEvent]> {
  const iterators = channels.map((c) => c[Symbol.asyncIterator]());
  type Next = Promise<{ i: number; r: IteratorResult<SequenceEvent> }>;
  const pull = (i: number): Next => iterators[i].next().then((r) => ({ i, r }));
  const waiting = new Map<number, Next>(iterators.map((_, i) => [i, pull(i)]));
  try {
    while (waiting.size) {
      const { i, r } = await Promise.race(waiting.values());
      if (r.done) {
        waiting.delete(i);
        continue;
      }
      waiting.set(i, pull(i));
      yield [i, r.value];
    }
  } finally {
    // Early exit (client gone, a choice failed): stop every choice still running.
    for (const i of waiting.keys()) await iterators[i].return?.();
  }
}
