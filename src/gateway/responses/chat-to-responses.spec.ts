import { accumulateResponse } from 'openai/lib/responses/ResponseAccumulator';
import { ChatToResponses } from './chat-to-responses';
import { responseBase } from './response-object';

type Json = Record<string, unknown>;

const base = responseBase({ id: 'abc', model: 'm', createdAt: 1 }, { input: 'x' });
const chunk = (delta: Json, finish: string | null = null, extra: Json = {}) => ({
  object: 'chat.completion.chunk',
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, ...extra }],
});
const usage = (prompt: number, completion: number, details: Json = {}) => ({
  object: 'chat.completion.chunk',
  choices: [],
  usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, ...details },
});

/** Runs chunks through the translator; answers the events and the final Response. */
function translate(chunks: Json[]): { events: Json[]; response: Json } {
  const t = new ChatToResponses(base, 'abc');
  const events = [...t.start(), ...chunks.flatMap((c) => t.chunk(c)), ...t.end()];
  return { events, response: t.response() };
}

/** What the official SDK's stream accumulator makes of the events (its finalResponse). */
function accumulated(events: Json[]): Json {
  let snapshot: unknown;
  for (const e of events) snapshot = accumulateResponse(e as never, snapshot as never);
  return snapshot as Json;
}

describe(ChatToResponses.name, () => {
  it('turns text deltas into one message with one output_text part, events in OpenAI order', () => {
    const { events, response } = translate([
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Hel' }),
      chunk({ content: 'lo' }),
      chunk({}, 'stop'),
      usage(5, 2),
    ]);
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(response).toMatchObject({
      id: 'resp_abc',
      status: 'completed',
      output: [
        {
          id: 'msg_abc',
          type: 'message',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'Hello', annotations: [] }],
        },
      ],
      usage: {
        input_tokens: 5,
        output_tokens: 2,
        total_tokens: 7,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens_details: { reasoning_tokens: 0 },
      },
    });
    expect(events.at(-1)!.response).toEqual(response);
    expect({ ...accumulated(events), output_text: undefined }).toEqual({ ...response, output_text: undefined });
  });

  it('turns streamed tool calls into function_call items with their arguments', () => {
    const { events, response } = translate([
      chunk({ role: 'assistant', content: null }),
      chunk({
        tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
      chunk({
        tool_calls: [{ index: 1, id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } }],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
      chunk({}, 'tool_calls'),
      usage(9, 12),
    ]);
    expect(response.status).toBe('completed');
    expect(response.output).toEqual([
      {
        id: 'fc_abc_0',
        type: 'function_call',
        status: 'completed',
        arguments: '{"city":"Paris"}',
        call_id: 'call_1',
        name: 'get_weather',
      },
      {
        id: 'fc_abc_1',
        type: 'function_call',
        status: 'completed',
        arguments: '{}',
        call_id: 'call_2',
        name: 'get_time',
      },
    ]);
    expect(
      events.filter((e) => e.type === 'response.function_call_arguments.delta').map((e) => [e.output_index, e.delta]),
    ).toEqual([
      [0, '{"city":'],
      [1, '{}'],
      [0, '"Paris"}'],
    ]);
    expect(
      events.find((e) => e.type === 'response.function_call_arguments.done' && e.output_index === 0),
    ).toMatchObject({
      item_id: 'fc_abc_0',
      name: 'get_weather',
      arguments: '{"city":"Paris"}',
    });
    expect({ ...accumulated(events), output_text: undefined }).toEqual({ ...response, output_text: undefined });
  });

  it('puts text before a tool call in a message item that is closed when the call starts', () => {
    const { events, response } = translate([
      chunk({ content: 'Let me check.' }),
      chunk({ tool_calls: [{ index: 0, id: 'call_1', function: { name: 'f', arguments: '{}' } }] }),
      chunk({}, 'tool_calls'),
      usage(1, 1),
    ]);
    expect((response.output as Json[]).map((o) => o.type)).toEqual(['message', 'function_call']);
    const doneMsg = events.findIndex((e) => e.type === 'response.output_item.done' && e.output_index === 0);
    const addedCall = events.findIndex((e) => e.type === 'response.output_item.added' && e.output_index === 1);
    expect(doneMsg).toBeLessThan(addedCall);
  });

  it('says incomplete (max_output_tokens) when the chat answer stopped at its length', () => {
    const { events, response } = translate([chunk({ content: 'abc' }), chunk({}, 'length'), usage(3, 3)]);
    expect(response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
    expect((response.output as Json[])[0].status).toBe('incomplete');
    expect(events.at(-1)!.type).toBe('response.incomplete');
  });

  it('carries a refusal as a refusal part, and usage details (cached, reasoning)', () => {
    const { events, response } = translate([
      chunk({ refusal: 'I cannot' }),
      chunk({ refusal: ' help.' }),
      chunk({}, 'stop'),
      usage(10, 4, { prompt_tokens_details: { cached_tokens: 6 }, completion_tokens_details: { reasoning_tokens: 2 } }),
    ]);
    expect((response.output as Json[])[0].content).toEqual([{ type: 'refusal', refusal: 'I cannot help.' }]);
    expect(events.map((e) => e.type)).toContain('response.refusal.done');
    expect(response.usage).toMatchObject({
      input_tokens_details: { cached_tokens: 6 },
      output_tokens_details: { reasoning_tokens: 2 },
    });
    expect({ ...accumulated(events), output_text: undefined }).toEqual({ ...response, output_text: undefined });
  });

  it('maps chat logprobs onto output_text logprobs', () => {
    const lp = {
      token: 'Hi',
      logprob: -0.1,
      bytes: [72, 105],
      top_logprobs: [{ token: 'Hi', logprob: -0.1, bytes: [72, 105] }],
    };
    const { events, response } = translate([
      chunk({ content: 'Hi' }, null, { logprobs: { content: [lp] } }),
      chunk({}, 'stop'),
      usage(1, 1),
    ]);
    expect(events.find((e) => e.type === 'response.output_text.delta')!.logprobs).toEqual([lp]);
    expect(((response.output as Json[])[0].content as Json[])[0].logprobs).toEqual([lp]);
  });

  it('answers an empty message (not an empty output) when the model said nothing', () => {
    const { response } = translate([chunk({}, 'stop'), usage(1, 0)]);
    expect(response.output).toEqual([
      {
        id: 'msg_abc',
        type: 'message',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: '', annotations: [], logprobs: [] }],
      },
    ]);
  });

  it('ends a failed stream with error and response.failed, sequence numbers continuing', () => {
    const t = new ChatToResponses(base, 'abc');
    const events = [
      ...t.start(),
      ...t.chunk(chunk({ content: 'par' })),
      ...t.error('upstream_error', 'cut', null),
      ...t.failed('upstream_error', 'cut'),
    ];
    expect(events.slice(-2).map((e) => e.type)).toEqual(['error', 'response.failed']);
    expect(events.at(-1)!.response).toMatchObject({
      status: 'failed',
      error: { code: 'upstream_error', message: 'cut' },
    });
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
  });
});
