import OpenAI, { BadRequestError } from 'openai';
import { zodFunction, zodResponseFormat } from 'openai/helpers/zod';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { z } from 'zod';
import {
  refusalAnswer,
  jsonSchemaAnswer,
  logprobsAnswer,
  nChoicesAnswer,
  toolCallAnswer,
  usageWithDetails,
} from '../../helpers/openai-answers';
import { ClientsHarness, lastMessage, MODEL, type Usage } from './client-harness';

const WEATHER_TOOL: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather of a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    },
    strict: true,
  },
};

const City = z.object({ name: z.string(), population: z.number().int(), landmarks: z.array(z.string()) });

const told = (u: OpenAI.CompletionUsage | undefined): Usage => ({
  prompt: u!.prompt_tokens,
  completion: u!.completion_tokens,
});

/** The official openai SDK (v6) against our /v1, for a remote model (issue 13). */
describe('the openai SDK against a remote model', () => {
  let h: ClientsHarness;
  let client: OpenAI;

  beforeAll(async () => {
    h = await ClientsHarness.start();
    client = new OpenAI({ apiKey: h.key, baseURL: h.baseURL, maxRetries: 0, fetch: h.fetch });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('runs a tool loop of two turns by hand: tool_calls, a role:tool answer, the final text', async () => {
    const mark = h.mark();
    h.script(
      toolCallAnswer(
        [{ id: 'call_w1', name: 'get_weather', arguments: { city: 'Paris' } }],
        usageWithDetails(40, 17, 8, 5),
      ),
      nChoicesAnswer(['It is 21 °C in Paris.'], usageWithDetails(75, 11)),
    );
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const reported = await h.expectUsageCharged(async () => {
      const first = await client.chat.completions.create({ model: MODEL, messages, tools: [WEATHER_TOOL] });
      expect(first.model).toBe(MODEL);
      expect(first.choices[0].finish_reason).toBe('tool_calls');
      const call = first.choices[0].message.tool_calls![0];
      expect(call).toEqual({
        id: 'call_w1',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
      });
      expect(first.usage?.prompt_tokens_details?.cached_tokens).toBe(8);
      expect(first.usage?.completion_tokens_details?.reasoning_tokens).toBe(5);
      messages.push(first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '{"celsius":21}' });
      const second = await client.chat.completions.create({ model: MODEL, messages, tools: [WEATHER_TOOL] });
      expect(second.choices[0].message.content).toBe('It is 21 °C in Paris.');
      return {
        prompt: first.usage!.prompt_tokens + second.usage!.prompt_tokens,
        completion: first.usage!.completion_tokens + second.usage!.completion_tokens,
      };
    });
    expect(reported).toEqual({ prompt: 115, completion: 28 });
    const [, turn2] = h.forwarded(mark);
    const [user, assistant, toolResult] = turn2.messages as Array<Record<string, unknown>>;
    expect(user).toEqual({ role: 'user', content: 'Weather in Paris?' });
    // The assistant message goes back as the client received it (annotations included).
    expect(assistant).toMatchObject({
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      ],
    });
    expect(toolResult).toEqual({ role: 'tool', tool_call_id: 'call_w1', content: '{"celsius":21}' });
  });

  it('runTools calls a zod tool with the parsed arguments and returns the final answer', async () => {
    const mark = h.mark();
    const seen: unknown[] = [];
    h.script(
      toolCallAnswer([{ id: 'call_r1', name: 'add', arguments: { a: 2, b: 40 } }]),
      nChoicesAnswer(['2 + 40 = 42']),
    );
    await h.expectUsageCharged(async () => {
      const runner = client.chat.completions.runTools({
        model: MODEL,
        messages: [{ role: 'user', content: 'What is 2 + 40?' }],
        tools: [
          zodFunction({
            name: 'add',
            parameters: z.object({ a: z.number(), b: z.number() }),
            function: (args: { a: number; b: number }) => {
              seen.push(args);
              return { sum: args.a + args.b };
            },
          }),
        ],
      });
      expect(await runner.finalContent()).toBe('2 + 40 = 42');
      return told(await runner.totalUsage());
    });
    expect(seen).toEqual([{ a: 2, b: 40 }]);
    const [turn1, turn2] = h.forwarded(mark);
    expect((turn1.tools as Array<{ function: { name: string; strict: boolean } }>)[0].function).toMatchObject({
      name: 'add',
      strict: true,
    });
    expect(lastMessage(turn2)).toEqual({ role: 'tool', tool_call_id: 'call_r1', content: '{"sum":42}' });
  });

  it('runTools streamed: the runner joins the streamed tool call, runs it and streams the final answer', async () => {
    const mark = h.mark();
    h.script(
      toolCallAnswer([{ id: 'call_rs', name: 'add', arguments: { a: 5, b: 8 } }], usageWithDetails(30, 12)),
      nChoicesAnswer(['5 + 8 = 13'], usageWithDetails(52, 7)),
    );
    const text: string[] = [];
    await h.expectUsageCharged(async () => {
      const runner = client.chat.completions.runTools({
        model: MODEL,
        messages: [{ role: 'user', content: 'What is 5 + 8?' }],
        stream: true,
        stream_options: { include_usage: true },
        tools: [
          zodFunction({
            name: 'add',
            parameters: z.object({ a: z.number(), b: z.number() }),
            function: (args: { a: number; b: number }) => ({ sum: args.a + args.b }),
          }),
        ],
      });
      runner.on('content', (delta) => text.push(delta));
      expect(await runner.finalContent()).toBe('5 + 8 = 13');
      return told(await runner.totalUsage());
    });
    expect(text.join('')).toBe('5 + 8 = 13');
    const [, turn2] = h.forwarded(mark);
    expect(lastMessage(turn2)).toEqual({ role: 'tool', tool_call_id: 'call_rs', content: '{"sum":13}' });
  });

  it('chat.completions.parse with a zod response format returns the parsed object', async () => {
    const mark = h.mark();
    const city = { name: 'Paris', population: 2_100_000, landmarks: ['Eiffel Tower', 'Louvre'] };
    h.script(jsonSchemaAnswer(city));
    await h.expectUsageCharged(async () => {
      const parsed = await client.chat.completions.parse({
        model: MODEL,
        messages: [{ role: 'user', content: 'Describe Paris' }],
        response_format: zodResponseFormat(City, 'city'),
      });
      expect(parsed.choices[0].message.parsed).toEqual(city);
      return told(parsed.usage);
    });
    const [body] = h.forwarded(mark);
    expect(body.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: {
        name: 'city',
        strict: true,
        schema: { type: 'object', required: ['name', 'population', 'landmarks'] },
      },
    });
  });

  it('a refusal reaches parse() as message.refusal, with nothing parsed', async () => {
    const mark = h.mark();
    h.script(refusalAnswer("I can't help with that.", usageWithDetails(18, 6)));
    await h.expectUsageCharged(async () => {
      const r = await client.chat.completions.parse({
        model: MODEL,
        messages: [{ role: 'user', content: 'Describe a forbidden city' }],
        response_format: zodResponseFormat(City, 'city'),
      });
      expect(r.choices[0].message.refusal).toBe("I can't help with that.");
      expect(r.choices[0].message.parsed).toBeNull();
      return told(r.usage);
    });
    h.forwarded(mark);
  });

  it('streams tool calls: the stream helper assembles the argument deltas into whole calls', async () => {
    const mark = h.mark();
    h.script(
      toolCallAnswer(
        [
          { id: 'call_s1', name: 'get_weather', arguments: { city: 'Paris' } },
          { id: 'call_s2', name: 'get_weather', arguments: { city: 'Saint-Étienne' } },
        ],
        usageWithDetails(33, 24),
      ),
    );
    const deltas: string[] = [];
    await h.expectUsageCharged(async () => {
      const stream = client.chat.completions.stream({
        model: MODEL,
        messages: [{ role: 'user', content: 'Weather in Paris and Saint-Étienne?' }],
        tools: [WEATHER_TOOL],
        stream_options: { include_usage: true },
      });
      stream.on('tool_calls.function.arguments.delta', (e) => deltas.push(e.arguments_delta));
      const final = await stream.finalChatCompletion();
      expect(final.choices[0].finish_reason).toBe('tool_calls');
      // The helper parses the arguments of strict tools too (parsed_arguments).
      expect(final.choices[0].message.tool_calls).toMatchObject([
        { id: 'call_s1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { id: 'call_s2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Saint-Étienne"}' } },
      ]);
      return told(final.usage);
    });
    expect(deltas.join('')).toBe('{"city":"Paris"}{"city":"Saint-Étienne"}');
    const [body] = h.forwarded(mark);
    expect(body.stream).toBe(true);
  });

  it('a stream that did not ask for usage gets no usage chunk, and is charged the upstream usage', async () => {
    const mark = h.mark();
    h.script(nChoicesAnswer(['quiet stream'], usageWithDetails(16, 3)));
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    await h.expectUsageCharged(async () => {
      const stream = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'Stream without usage' }],
        stream: true,
      });
      for await (const chunk of stream) chunks.push(chunk);
      // What the upstream reported, which the client did not see.
      return { prompt: 16, completion: 3 };
    });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('quiet stream');
    expect(chunks.filter((c) => c.usage || c.choices.length === 0)).toEqual([]);
    expect(h.forwarded(mark)[0].stream_options).toEqual({ include_usage: true });
  });

  it('n = 2 returns both choices, and both are charged', async () => {
    const mark = h.mark();
    h.script(nChoicesAnswer(['first', 'second'], usageWithDetails(10, 6)));
    await h.expectUsageCharged(async () => {
      const r = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'Say something' }],
        n: 2,
        temperature: 1,
      });
      expect(r.choices.map((c) => [c.index, c.message.content])).toEqual([
        [0, 'first'],
        [1, 'second'],
      ]);
      return told(r.usage);
    });
    expect(h.forwarded(mark)[0]).toMatchObject({ n: 2, temperature: 1 });
  });

  it('logprobs and top_logprobs come back for every token', async () => {
    const mark = h.mark();
    h.script(logprobsAnswer(['Bon', 'jour'], 2));
    await h.expectUsageCharged(async () => {
      const r = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'Hello in French' }],
        logprobs: true,
        top_logprobs: 2,
        max_completion_tokens: 5,
      });
      const content = r.choices[0].logprobs!.content!;
      expect(content.map((t) => t.token)).toEqual(['Bon', 'jour']);
      expect(content[1].top_logprobs.map((t) => t.token)).toEqual(['jour', 'jour~1']);
      expect(content[1].logprob).toBeCloseTo(-0.5);
      return told(r.usage);
    });
    expect(h.forwarded(mark)[0]).toMatchObject({ logprobs: true, top_logprobs: 2, max_completion_tokens: 5 });
  });

  // The plain (not streamed) 400 is in test/gateway/upstream-errors.e2e-spec.ts; this one streams.
  it('a streamed request the upstream refuses with 400 raises BadRequestError; the upstream saw it once', async () => {
    const mark = h.mark();
    h.upstream.enqueue({
      kind: 'status',
      status: 400,
      message: "Invalid schema for response_format 'city'",
      error: { type: 'invalid_request_error', code: 'invalid_json_schema', param: 'response_format' },
    });
    const err = await client.chat.completions
      .create({
        model: MODEL,
        messages: [{ role: 'user', content: 'hi' }],
        response_format: { type: 'json_schema', json_schema: { name: 'city', schema: { type: 'object' } } },
        stream: true,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err).toMatchObject({ status: 400, code: 'invalid_json_schema', param: 'response_format' });
    expect((err as BadRequestError).message).toContain(`${MODEL}: Invalid schema`);
    expect(h.forwarded(mark)).toHaveLength(1);
  });

  it('in the end, the quota ledger, usage_daily and inference_logs hold what the client was told', async () => {
    await h.expectBooksAgree();
  });
});
