import Ajv from 'ajv';
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionFunctionTool,
  ChatCompletionMessageFunctionToolCall,
} from 'openai/resources/chat/completions';
import { inGroups, LLAMA, LocalApi, QWEN } from '../helpers/local-api';

/**
 * Tool calls from local models (issue 15): tools rendered by the model's own chat template,
 * output parsed by the model's parser (Qwen3: hermes, detected from its template; Llama 3.1:
 * llama3_json from models.yaml); `required` and a named function are generated under the JSON
 * constraint, so even random weights make well-formed calls whose arguments validate.
 */

const WEATHER: ChatCompletionFunctionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['city', 'unit'],
      additionalProperties: false,
    },
    strict: true,
  },
};
const ORDER: ChatCompletionFunctionTool = {
  type: 'function',
  function: {
    name: 'lookup_order',
    description: 'Find an order',
    parameters: {
      type: 'object',
      properties: {
        order_id: { type: 'integer' },
        items: {
          type: 'array',
          items: {
            type: 'object',
            properties: { sku: { type: 'string' } },
            required: ['sku'],
            additionalProperties: false,
          },
        },
        express: { type: 'boolean' },
      },
      required: ['order_id', 'items'],
      additionalProperties: false,
    },
  },
};
const TOOLS = [WEATHER, ORDER];
const ajv = new Ajv({ strict: false });
const validators = new Map(TOOLS.map((t) => [t.function.name, ajv.compile(t.function.parameters!)]));
const ask = [{ role: 'user' as const, content: 'What is the weather in Lyon? Also find order 12.' }];

/** Checks one answer's tool calls against the offered tools; returns them. */
function expectValidCalls(r: ChatCompletion, name?: string): ChatCompletionMessageFunctionToolCall[] {
  const choice = r.choices[0];
  expect(choice.finish_reason).toBe('tool_calls');
  const calls = (choice.message.tool_calls ?? []) as ChatCompletionMessageFunctionToolCall[];
  expect(calls.length).toBeGreaterThan(0);
  for (const call of calls) {
    expect(call.type).toBe('function');
    expect(call.id).toEqual(expect.any(String));
    if (name) expect(call.function.name).toBe(name);
    const validate = validators.get(call.function.name);
    expect(validate).toBeDefined();
    expect(validate!(JSON.parse(call.function.arguments))).toBe(true);
  }
  expect(new Set(calls.map((c) => c.id)).size).toBe(calls.length);
  return calls;
}

describe('tool calls from local models over the OpenAI API', () => {
  let api: LocalApi;
  beforeAll(async () => {
    api = await LocalApi.start({ llama: true });
  });
  afterAll(async () => {
    await api?.close();
  });

  const required = (seed: number, extra: Partial<ChatCompletionCreateParamsNonStreaming> = {}) =>
    api.client.chat.completions.create({
      model: QWEN,
      messages: ask,
      tools: TOOLS,
      tool_choice: 'required',
      temperature: 1,
      seed,
      max_tokens: 80,
      ...extra,
    });

  it('tool_choice "required" returns valid calls (hermes), ids unique, finish_reason tool_calls', async () => {
    const answers = await inGroups(8, 8, (i) => required(i + 1));
    const ids = new Set<string>();
    for (const r of answers) for (const c of expectValidCalls(r)) ids.add(c.id);
    // Ids are unique across answers too (seeded per request, as OpenAI's are random).
    expect(ids.size).toBe(answers.reduce((n, r) => n + r.choices[0].message.tool_calls!.length, 0));
    // Both tools get picked over the seeds: the name is sampled, not fixed.
    const names = new Set(
      answers.flatMap((r) =>
        r.choices[0].message.tool_calls!.map((c) => (c as ChatCompletionMessageFunctionToolCall).function.name),
      ),
    );
    expect(names.size).toBe(2);
  });

  it('a named function choice calls that function', async () => {
    const answers = await inGroups(4, 4, (i) =>
      required(20 + i, { tool_choice: { type: 'function', function: { name: 'lookup_order' } } }),
    );
    for (const r of answers) expectValidCalls(r, 'lookup_order');
  });

  it('parallel_tool_calls false: exactly one call', async () => {
    const answers = await inGroups(4, 4, (i) => required(40 + i, { parallel_tool_calls: false }));
    for (const r of answers) expect(expectValidCalls(r)).toHaveLength(1);
  });

  it('tool_choice "none" answers text, no tool calls', async () => {
    const r = await required(3, { tool_choice: 'none', max_tokens: 12 });
    expect(r.choices[0].message.tool_calls ?? []).toHaveLength(0);
    expect(['stop', 'length']).toContain(r.choices[0].finish_reason);
    expect(typeof r.choices[0].message.content).toBe('string');
  });

  it('llama3_json parser: required and named calls validate', async () => {
    const base = { model: LLAMA, messages: ask, tools: TOOLS, temperature: 1, max_tokens: 80 };
    const answers = await inGroups(4, 4, (i) =>
      api.client.chat.completions.create({ ...base, tool_choice: 'required', seed: 60 + i }),
    );
    for (const r of answers) expectValidCalls(r);
    const named = await api.client.chat.completions.create({
      ...base,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      seed: 70,
    });
    expectValidCalls(named, 'get_weather');
  });

  it('a two-turn tool loop: the tool result is rendered into turn 2 and an answer comes back', async () => {
    const turn1 = await required(5, { tool_choice: { type: 'function', function: { name: 'get_weather' } } });
    const [call] = expectValidCalls(turn1, 'get_weather');
    const result = JSON.stringify({ city: 'Lyon', temperature: 21, sky: 'clear', wind_kmh: 12, humidity: 0.41 });
    const turn2 = await api.client.chat.completions.create({
      model: QWEN,
      messages: [
        ...ask,
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: result },
      ],
      tools: TOOLS,
      tool_choice: 'auto',
      temperature: 1,
      seed: 6,
      max_tokens: 16,
    });
    expect(turn2.object).toBe('chat.completion');
    expect(['stop', 'length', 'tool_calls']).toContain(turn2.choices[0].finish_reason);
    // Turn 2's prompt holds turn 1's prompt, its call and the tool result.
    expect(turn2.usage!.prompt_tokens).toBeGreaterThan(turn1.usage!.prompt_tokens + turn1.usage!.completion_tokens);
  });

  it.each([QWEN, LLAMA])(
    '%s streams the same tool calls as the non-streamed answer for a fixed seed',
    async (model) => {
      const body = {
        model,
        messages: ask,
        tools: TOOLS,
        tool_choice: 'required' as const,
        temperature: 1,
        seed: 9,
        max_tokens: 80,
      };
      const whole = await api.client.chat.completions.create(body);
      const calls = expectValidCalls(whole);
      const stream = await api.client.chat.completions.create({
        ...body,
        stream: true,
        stream_options: { include_usage: true },
      });
      const built: Array<{ id: string; type: string; function: { name: string; arguments: string } }> = [];
      let finish: string | null = null;
      let usage;
      for await (const chunk of stream) {
        for (const d of chunk.choices[0]?.delta?.tool_calls ?? []) {
          if (!built[d.index]) {
            // The first delta of a call carries its id, type and name, as OpenAI streams them.
            expect(d.id).toEqual(expect.any(String));
            expect(d.type).toBe('function');
            expect(d.function?.name).toEqual(expect.any(String));
            built[d.index] = { id: d.id!, type: d.type!, function: { name: d.function!.name!, arguments: '' } };
          }
          built[d.index].function.arguments += d.function?.arguments ?? '';
        }
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      expect(built).toEqual(calls.map((c) => ({ id: c.id, type: c.type, function: c.function })));
      expect(finish).toBe('tool_calls');
      expect(usage).toEqual(whole.usage);
    },
  );

  it('refuses tool parameters outside the strict subset, naming the keyword, and charges nothing', async () => {
    const tool = {
      type: 'function',
      function: {
        name: 'email',
        parameters: { type: 'object', properties: { to: { type: 'string', format: 'email' } }, required: ['to'] },
      },
    };
    await api.expectNothingCharged(async () => {
      const r = await api.post('/v1/chat/completions', {
        model: QWEN,
        messages: ask,
        tools: [WEATHER, tool],
        tool_choice: 'required',
      });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('unsupported_parameter');
      expect(r.body.error.param).toMatch(/^tools\.1\.function\.parameters/);
      expect(r.body.error.message).toContain('format');
    });
  });

  it('charges exactly the usage the client was told for a tool call', async () => {
    await api.expectCharged(async () => (await required(11)).usage!);
    await api.expectCharged(
      async () =>
        (
          await api.client.chat.completions.create({
            model: LLAMA,
            messages: ask,
            tools: TOOLS,
            tool_choice: 'required',
            temperature: 1,
            seed: 12,
            max_tokens: 80,
          })
        ).usage!,
      LLAMA,
    );
  });
});
