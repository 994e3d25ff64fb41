import type { FakeUpstreamOptions } from './fake-openai-upstream';

// The fake upstream's `deltas` mode: its answer built from options.deltas/usage/finishReason.

/** The deltas this request gets, and its finish reason. */
function answerFor(
  options: FakeUpstreamOptions,
  body: Record<string, unknown> | undefined,
): { deltas: string[]; finishReason: 'stop' | 'length' } {
  const max = Number(body?.max_tokens ?? body?.max_completion_tokens);
  const all = options.deltas;
  if (!options.honourMaxTokens || !Number.isInteger(max) || max >= all.length)
    return { deltas: all, finishReason: options.finishReason };
  return { deltas: all.slice(0, max), finishReason: 'length' };
}

export function deltasAnswer(
  options: FakeUpstreamOptions,
  chat: boolean,
  model: string,
  body?: Record<string, unknown>,
): Record<string, unknown> {
  const answer = answerFor(options, body);
  const text = answer.deltas.join('');
  const choice = chat
    ? { index: 0, message: { role: 'assistant', content: text }, finish_reason: answer.finishReason }
    : { index: 0, text, finish_reason: answer.finishReason };
  return {
    id: 'cmpl-fake',
    object: chat ? 'chat.completion' : 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [choice],
    ...(options.usage ? { usage: usageBody(options, answer.deltas.length) } : {}),
  };
}

/** The `deltas` mode: one chunk per delta, a finish chunk, the usage chunk when asked. */
export function deltasChunks(
  options: FakeUpstreamOptions,
  chat: boolean,
  model: string,
  body: Record<string, unknown>,
  include: boolean,
): unknown[] {
  const chunk = (text: string, finish: string | null): Record<string, unknown> => ({
    id: 'cmpl-fake',
    object: chat ? 'chat.completion.chunk' : 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      chat ? { index: 0, delta: { content: text }, finish_reason: finish } : { index: 0, text, finish_reason: finish },
    ],
  });
  const answer = answerFor(options, body);
  const chunks: unknown[] = answer.deltas.map((d) => chunk(d, null));
  chunks.push(chunk('', answer.finishReason));
  if (options.usage && include)
    chunks.push({
      id: 'cmpl-fake',
      object: 'chat.completion.chunk',
      model,
      choices: [],
      usage: usageBody(options, answer.deltas.length),
    });
  return chunks;
}

function usageBody(options: FakeUpstreamOptions, completion: number): Record<string, number> {
  return {
    prompt_tokens: options.promptTokens,
    completion_tokens: completion,
    total_tokens: options.promptTokens + completion,
  };
}
