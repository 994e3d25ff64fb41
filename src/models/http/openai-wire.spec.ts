import { buildBody, parseChunk, parseCompletion } from './openai-wire';

const params = { maxTokens: 8, temperature: 0, topP: 1, topK: 50, repetitionPenalty: 1.3, stop: [] };

describe('openai wire format', () => {
  it('leaves out optional fields that are off, and extras unless enabled', () => {
    const body = buildBody({ prompt: 'hi', params }, { upstreamModel: 'm', extendedSampling: false }, false);
    expect(body).toEqual({ model: 'm', prompt: 'hi', max_tokens: 8, temperature: 0, top_p: 1 });
    const off = buildBody(
      { prompt: 'hi', params: { ...params, topK: 0, repetitionPenalty: 1 } },
      { upstreamModel: 'm', extendedSampling: true },
      true,
    );
    expect(off).not.toHaveProperty('top_k');
    expect(off).not.toHaveProperty('repetition_penalty');
    expect(off).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('forwards the client body as sent, lowering only the cap it used when the quota or context is lower', () => {
    const sent = {
      model: 'ours',
      messages: [{ role: 'user', content: 'x' }],
      max_completion_tokens: 100,
      tools: [{ type: 'function' }],
      top_k: 5,
      odd: 1,
    };
    const body = buildBody(
      { messages: [], params, body: sent },
      { upstreamModel: 'up', extendedSampling: false },
      false,
    );
    expect(body).toEqual({ model: 'up', messages: sent.messages, max_completion_tokens: 8, tools: sent.tools, odd: 1 });
    expect(sent.model).toBe('ours');
    const none = buildBody(
      { prompt: 'p', params, body: { prompt: ['a', 'b'] } },
      { upstreamModel: 'up', extendedSampling: true, params: 'drop', dropParams: ['prompt_cache_key'] },
      true,
    );
    // No cap sent and no finite quota to protect: none is added (the upstream's default applies).
    expect(none).toEqual({ model: 'up', prompt: ['a', 'b'], stream: true, stream_options: { include_usage: true } });
  });

  it('adds a cap the client did not send only when a finite quota needs it, in the configured field', () => {
    const sent = { messages: [{ role: 'user', content: 'x' }] };
    const bounded = { messages: [], params, body: sent, boundCap: true };
    expect(buildBody(bounded, { upstreamModel: 'up', extendedSampling: false }, false)).toMatchObject({
      max_tokens: 8,
    });
    const reasoning = buildBody(
      bounded,
      { upstreamModel: 'up', extendedSampling: false, maxTokensField: 'max_completion_tokens' },
      false,
    );
    expect(reasoning).toMatchObject({ max_completion_tokens: 8 });
    expect(reasoning).not.toHaveProperty('max_tokens');
    // A cap the client sent stays in its own field and is only ever lowered.
    const asked = buildBody(
      { ...bounded, body: { ...sent, max_tokens: 3 } },
      { upstreamModel: 'up', extendedSampling: false, maxTokensField: 'max_completion_tokens' },
      false,
    );
    expect(asked).toMatchObject({ max_tokens: 3 });
    expect(asked).not.toHaveProperty('max_completion_tokens');
  });

  it('reads chat and text completions, mapping finish reasons', () => {
    expect(
      parseCompletion({
        choices: [{ message: { content: 'a' }, finish_reason: 'length' }],
        usage: { prompt_tokens: 1, completion_tokens: 2 },
      }),
    ).toEqual({
      text: 'a',
      finishReason: 'length',
      usage: { promptTokens: 1, completionTokens: 2 },
      rawUsage: { prompt_tokens: 1, completion_tokens: 2 },
    });
    expect(parseCompletion({ choices: [{ text: 'b', finish_reason: 'eos' }] })).toEqual({
      text: 'b',
      finishReason: 'stop',
      usage: undefined,
    });
    expect(() => parseCompletion({ object: 'error' })).toThrow('no choices');
  });

  it('reads stream chunks: deltas, finish reason, usage-only chunks and error chunks', () => {
    expect(parseChunk({ choices: [{ delta: { role: 'assistant', content: null }, finish_reason: null }] })).toEqual({
      delta: '',
      finishReason: undefined,
      usage: undefined,
      hasChoices: true,
    });
    expect(parseChunk({ choices: [{ delta: { content: 'x' }, finish_reason: 'stop' }] })).toMatchObject({
      delta: 'x',
      finishReason: 'stop',
    });
    expect(parseChunk({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 4 } })).toMatchObject({
      delta: '',
      usage: { promptTokens: 3, completionTokens: 4 },
    });
    expect(parseChunk({ error: { message: 'boom' } })).toEqual({ delta: '', error: 'boom' });
  });

  it('passes OpenAI finish reasons as sent, and reads cached and reasoning tokens from usage details', () => {
    const tool = {
      choices: [
        {
          message: { content: null, tool_calls: [{ function: { name: 'f', arguments: '{}' } }] },
          finish_reason: 'tool_calls',
        },
      ],
    };
    expect(parseCompletion(tool)).toMatchObject({ text: 'f{}', finishReason: 'tool_calls' });
    expect(parseChunk({ choices: [{ delta: {}, finish_reason: 'content_filter' }] }).finishReason).toBe(
      'content_filter',
    );
    const usage = {
      prompt_tokens: 10,
      completion_tokens: 5,
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 3 },
    };
    expect(parseChunk({ choices: [], usage }).usage).toEqual({
      promptTokens: 10,
      completionTokens: 5,
      cachedPromptTokens: 4,
      reasoningTokens: 3,
    });
    // Details beyond their totals are not believed (the totals still are).
    expect(
      parseChunk({ choices: [], usage: { ...usage, completion_tokens_details: { reasoning_tokens: 9 } } }).usage,
    ).toEqual({ promptTokens: 10, completionTokens: 5, cachedPromptTokens: 4 });
  });
});
