import { answerChunks, logprobsAnswer, nChoicesAnswer, toolCallAnswer, usageWithDetails } from './openai-answers';

describe('answerChunks (the fake upstream streams as OpenAI does)', () => {
  it('streams a tool call as a first chunk with id, type, name and empty arguments, then argument fragments', () => {
    const whole = toolCallAnswer([{ id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } }]);
    const deltas = answerChunks(whole, false).map((c) => c.choices[0].delta);
    expect(deltas[0]).toEqual({ role: 'assistant', content: null, refusal: null });
    expect(deltas[1].tool_calls).toEqual([
      { index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } },
    ]);
    const args = deltas.slice(2, -1).map((d) => d.tool_calls[0].function.arguments as string);
    expect(args.length).toBeGreaterThan(1);
    expect(args.join('')).toBe('{"city":"Paris"}');
    expect(answerChunks(whole, false).at(-1)!.choices[0].finish_reason).toBe('tool_calls');
  });

  it('interleaves n choices, marks every chunk usage: null and ends with a usage-only chunk when asked', () => {
    const usage = usageWithDetails(5, 4, 2, 1);
    const chunks = answerChunks(nChoicesAnswer(['ab', 'cd'], usage), true);
    expect(chunks.slice(0, 2).map((c) => c.choices[0].index)).toEqual([0, 1]);
    expect(chunks.slice(0, -1).every((c) => c.usage === null && c.system_fingerprint === 'fp_upstream')).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ object: 'chat.completion.chunk', choices: [], usage });
    expect(answerChunks(nChoicesAnswer(['ab']), false).some((c) => 'usage' in c)).toBe(false);
  });

  it('sends one content chunk per logprob token, carrying that token only', () => {
    const chunks = answerChunks(logprobsAnswer(['Hi', ' there']), false);
    expect(chunks[1].choices[0].delta).toEqual({ content: 'Hi' });
    expect(chunks[2].choices[0].logprobs.content.map((l: { token: string }) => l.token)).toEqual([' there']);
  });
});
