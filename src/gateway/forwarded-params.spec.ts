import { cacheKey } from '../cache/cache-key';
import { cacheExtra } from './forwarded-params';

const params = { maxTokens: 16, temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, stop: [] };
const keyOf = (body: Record<string, unknown>) =>
  cacheKey({ model: 'm', version: 'v', messages: [{ role: 'user', content: 'hi' }], params, extra: cacheExtra(body) })
    .id;

describe(cacheExtra.name, () => {
  const base = { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16, temperature: 0 };

  it.each([
    ['tools', [{ type: 'function', function: { name: 'f' } }]],
    ['tool_choice', 'required'],
    ['parallel_tool_calls', false],
    ['functions', [{ name: 'f' }]],
    ['function_call', 'none'],
    ['response_format', { type: 'json_object' }],
    ['logprobs', true],
    ['top_logprobs', 2],
    ['n', 2],
    ['presence_penalty', 0.1],
    ['frequency_penalty', 0.1],
    ['logit_bias', { '1': 1 }],
    ['max_completion_tokens', 16],
    ['metadata', { a: 'b' }],
    ['store', true],
    ['service_tier', 'flex'],
    ['reasoning_effort', 'high'],
    ['verbosity', 'low'],
    ['prediction', { type: 'content', content: 'x' }],
    ['modalities', ['text']],
    ['audio', { voice: 'alloy' }],
    ['web_search_options', {}],
    ['safety_identifier', 's'],
    ['prompt_cache_key', 'k'],
    ['a_future_param', 1],
  ])('splits the cache on %s', (field, value) => {
    expect(keyOf({ ...base, [field]: value })).not.toBe(keyOf(base));
  });

  it('splits on message fields our plain view of the messages leaves out', () => {
    const withCalls = {
      ...base,
      messages: [
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
      ],
    };
    const otherArgs = {
      ...base,
      messages: [
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
        },
      ],
    };
    const parts = { ...base, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'a' } }] }] };
    const keys = new Set([keyOf(base), keyOf(withCalls), keyOf(otherArgs), keyOf(parts)]);
    expect(keys.size).toBe(4);
  });

  it('does not split on stream, stream_options, user or fields the params already cover', () => {
    expect(
      cacheExtra({ ...base, stream: true, stream_options: { include_usage: true }, user: 'u', seed: 1, stop: 'x' }),
    ).toBeUndefined();
    expect(keyOf({ ...base, stream: true, user: 'u' })).toBe(keyOf(base));
  });
});
