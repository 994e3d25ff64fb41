import { createOpenAI } from '@ai-sdk/openai';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { z } from 'zod';
import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { writeModelsYaml } from '../helpers/model-fixtures';
import { startTestApp, type TestApp } from '../helpers/test-app';

type Json = Record<string, unknown>;

/** A chat upstream that calls `get_weather` until it has the tool's result, then answers in text. */
function weatherAgent(body: Json): Json {
  const messages = body.messages as Json[];
  const last = messages.at(-1)!;
  const message =
    last.role === 'tool'
      ? { role: 'assistant', content: `It is ${JSON.parse(String(last.content)).celsius} °C in Paris.`, refusal: null }
      : {
          role: 'assistant',
          content: 'Let me check.',
          refusal: null,
          tool_calls: [
            { id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          ],
        };
  return {
    id: 'chatcmpl-up',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: String(body.model),
    system_fingerprint: 'fp_up',
    choices: [{ index: 0, message, logprobs: null, finish_reason: last.role === 'tool' ? 'stop' : 'tool_calls' }],
    usage: {
      prompt_tokens: 40,
      completion_tokens: 9,
      total_tokens: 49,
      prompt_tokens_details: { cached_tokens: 32 },
      completion_tokens_details: { reasoning_tokens: 3 },
    },
  };
}

const WEATHER_TOOL = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Current weather of a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  },
  strict: true,
};

/** Function tools through /v1/responses, translated to a chat upstream and back. */
describe('POST /v1/responses: a function tool round trip through a chat upstream', () => {
  let t: TestApp;
  let upstream: FakeOpenAIUpstream;
  let client: OpenAI;
  const chatRequests = () => upstream.requests.filter((r) => r.path.endsWith('/chat/completions')).map((r) => r.body!);
  beforeAll(async () => {
    upstream = await FakeOpenAIUpstream.start({ answer: weatherAgent });
    const yaml = writeModelsYaml(
      `default_model: agent\nmodels:\n  - id: agent\n    provider: http\n    base_url: ${upstream.baseUrl}\n`,
    );
    t = await startTestApp({ MODELS_CONFIG: yaml });
    client = new OpenAI({ apiKey: t.adminKey, baseURL: `${t.baseUrl}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await t.close();
    await upstream.stop();
  });

  it('answers function_call, takes function_call_output, and answers the final text (openai SDK)', async () => {
    const input: OpenAI.Responses.ResponseInput = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await client.responses.create({ model: 'agent', input, tools: [WEATHER_TOOL], store: false });
    expect(first.output).toEqual([
      expect.objectContaining({
        type: 'message',
        content: [expect.objectContaining({ type: 'output_text', text: 'Let me check.' })],
      }),
      expect.objectContaining({
        type: 'function_call',
        call_id: 'call_w1',
        name: 'get_weather',
        arguments: '{"city":"Paris"}',
        status: 'completed',
      }),
    ]);
    expect(first.usage).toEqual({
      input_tokens: 40,
      input_tokens_details: { cached_tokens: 32 },
      output_tokens: 9,
      output_tokens_details: { reasoning_tokens: 3 },
      total_tokens: 49,
    });
    const call = first.output[1] as OpenAI.Responses.ResponseFunctionToolCall;
    const second = await client.responses.create({
      model: 'agent',
      input: [
        ...input,
        ...(first.output as unknown as OpenAI.Responses.ResponseInputItem[]),
        { type: 'function_call_output', call_id: call.call_id, output: JSON.stringify({ celsius: 21 }) },
      ],
      tools: [WEATHER_TOOL],
    });
    expect(second.output_text).toBe('It is 21 °C in Paris.');
    const turn2 = chatRequests().at(-1)!;
    expect(turn2.messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [
          { id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_w1', content: '{"celsius":21}' },
    ]);
    expect(turn2.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: WEATHER_TOOL.description,
          parameters: WEATHER_TOOL.parameters,
          strict: true,
        },
      },
    ]);
  });

  it('streams the function call as output_item and arguments events; finalResponse equals the non-streamed one', async () => {
    const body = { model: 'agent', input: 'Weather in Paris?', tools: [WEATHER_TOOL] };
    const whole = await client.responses.create(body);
    const stream = client.responses.stream(body);
    const types: string[] = [];
    for await (const ev of stream) types.push(ev.type);
    const final = await stream.finalResponse();
    expect(types).toEqual(
      expect.arrayContaining([
        'response.output_item.added',
        'response.function_call_arguments.delta',
        'response.function_call_arguments.done',
        'response.output_item.done',
      ]),
    );
    expect(types.at(-1)).toBe('response.completed');
    // Ids and times differ between the two requests; `parsed*` fields are the SDK's own (stream only).
    const strip = (r: OpenAI.Responses.Response): unknown =>
      JSON.parse(
        JSON.stringify(
          { ...r, id: 0, created_at: 0, output: r.output.map((o) => ({ ...o, id: 0 })) },
          (k, v: unknown) => (k.startsWith('parsed') || k === 'output_parsed' ? undefined : v),
        ),
      );
    expect(strip(final)).toEqual(strip(whole));
    expect(final.output.map((o) => o.type)).toEqual(['message', 'function_call']);
  });

  it('runs a tool loop with the Vercel AI SDK default provider, generateText and streamText', async () => {
    const openai = createOpenAI({ baseURL: `${t.baseUrl}/v1`, apiKey: t.adminKey });
    const seen: string[] = [];
    const getWeather = tool({
      description: 'Current weather of a city',
      inputSchema: z.object({ city: z.string() }),
      execute: async ({ city }) => {
        seen.push(city);
        return { celsius: 21 };
      },
    });
    const args = {
      model: openai('agent'),
      tools: { get_weather: getWeather },
      stopWhen: stepCountIs(2),
      prompt: 'Weather in Paris?',
      maxRetries: 0,
    };
    const r = await generateText(args);
    expect(r.steps).toHaveLength(2);
    expect(r.steps[0].toolCalls.map((c) => [c.toolCallId, c.toolName, c.input])).toEqual([
      ['call_w1', 'get_weather', { city: 'Paris' }],
    ]);
    expect(r.text).toBe('It is 21 °C in Paris.');
    const s = streamText(args);
    expect(await s.text).toBe('It is 21 °C in Paris.');
    expect(seen).toEqual(['Paris', 'Paris']);
    // Step 2 refers to the step-1 text by item_reference (the SDK's default store option).
    expect(chatRequests().at(-1)!.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
      {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [
          { id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_w1', content: JSON.stringify({ celsius: 21 }) },
    ]);
  });
});
