import { type AIMessage, type AIMessageChunk, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { ChatOpenAI } from '@langchain/openai';
import { z } from 'zod';
import { jsonSchemaAnswer, nChoicesAnswer, toolCallAnswer, usageWithDetails } from '../../helpers/openai-answers';
import { ClientsHarness, lastMessage, MODEL, type Usage } from './client-harness';

const told = (m: AIMessage | AIMessageChunk): Usage => ({
  prompt: m.usage_metadata!.input_tokens,
  completion: m.usage_metadata!.output_tokens,
});

const weather = tool(({ city }: { city: string }) => `21 °C in ${city}`, {
  name: 'get_weather',
  description: 'Current weather of a city',
  schema: z.object({ city: z.string() }),
});

const Person = z.object({ name: z.string(), age: z.number().int() });

/** @langchain/openai's ChatOpenAI against our /v1, for a remote model (issue 13). */
describe('LangChain ChatOpenAI against a remote model', () => {
  let h: ClientsHarness;
  let llm: ChatOpenAI;

  beforeAll(async () => {
    h = await ClientsHarness.start();
    llm = new ChatOpenAI({
      model: MODEL,
      apiKey: h.key,
      maxRetries: 0,
      configuration: { baseURL: h.baseURL, fetch: h.fetch },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('bindTools: the AIMessage carries the tool_calls, and a ToolMessage turn gets the final answer', async () => {
    const mark = h.mark();
    h.script(
      toolCallAnswer(
        [{ id: 'call_l1', name: 'get_weather', arguments: { city: 'Lyon' } }],
        usageWithDetails(30, 12, 0, 4),
      ),
      nChoicesAnswer(['21 °C in Lyon.'], usageWithDetails(61, 7)),
    );
    const withTools = llm.bindTools([weather]);
    await h.expectUsageCharged(async () => {
      const ask = new HumanMessage('Weather in Lyon?');
      const first = await withTools.invoke([ask]);
      expect(first.tool_calls).toEqual([
        { id: 'call_l1', name: 'get_weather', args: { city: 'Lyon' }, type: 'tool_call' },
      ]);
      expect(first.usage_metadata?.output_token_details?.reasoning).toBe(4);
      const result = await weather.invoke(first.tool_calls![0]);
      expect(result).toBeInstanceOf(ToolMessage);
      const second = await withTools.invoke([ask, first, result]);
      expect(second.content).toBe('21 °C in Lyon.');
      return {
        prompt: told(first).prompt + told(second).prompt,
        completion: told(first).completion + told(second).completion,
      };
    });
    const [turn1, turn2] = h.forwarded(mark);
    expect((turn1.tools as Array<{ function: { name: string } }>).map((t) => t.function.name)).toEqual(['get_weather']);
    // LangChain adds the tool's name to the tool message; forwarded as sent.
    expect(lastMessage(turn2)).toEqual({
      role: 'tool',
      tool_call_id: 'call_l1',
      name: 'get_weather',
      content: '21 °C in Lyon',
    });
  });

  it('withStructuredOutput uses json_schema by default and returns the parsed object', async () => {
    const mark = h.mark();
    h.script(jsonSchemaAnswer({ name: 'Ada', age: 36 }, usageWithDetails(20, 9)));
    await h.expectUsageCharged(async () => {
      const out = await llm.withStructuredOutput(Person, { name: 'person', includeRaw: true }).invoke('Who is Ada?');
      expect(out.parsed).toEqual({ name: 'Ada', age: 36 });
      return told(out.raw as AIMessage);
    });
    const [body] = h.forwarded(mark);
    expect(body.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: { name: 'person', schema: { type: 'object', required: ['name', 'age'] } },
    });
    expect(body.tools).toBeUndefined();
  });

  it('withStructuredOutput with method functionCalling forces a tool call and parses its arguments', async () => {
    const mark = h.mark();
    h.script(toolCallAnswer([{ id: 'call_p1', name: 'person', arguments: { name: 'Alan', age: 41 } }]));
    await h.expectUsageCharged(async () => {
      const out = await llm
        .withStructuredOutput(Person, { name: 'person', method: 'functionCalling', includeRaw: true })
        .invoke('Who is Alan?');
      expect(out.parsed).toEqual({ name: 'Alan', age: 41 });
      return told(out.raw as AIMessage);
    });
    const [body] = h.forwarded(mark);
    expect(body.tool_choice).toEqual({ type: 'function', function: { name: 'person' } });
    expect(body.response_format).toBeUndefined();
  });

  it('withStructuredOutput with method jsonMode sends a json_object response format', async () => {
    const mark = h.mark();
    h.script(jsonSchemaAnswer({ name: 'Grace', age: 85 }, usageWithDetails(19, 8)));
    await h.expectUsageCharged(async () => {
      const out = await llm
        .withStructuredOutput(Person, { method: 'jsonMode', includeRaw: true })
        .invoke('Who is Grace? Answer in JSON.');
      expect(out.parsed).toEqual({ name: 'Grace', age: 85 });
      return told(out.raw as AIMessage);
    });
    expect(h.forwarded(mark)[0].response_format).toEqual({ type: 'json_object' });
  });

  it('streams text chunks that add up to the answer, with the usage of the stream', async () => {
    const mark = h.mark();
    h.script(nChoicesAnswer(['Streaming through the gateway works.'], usageWithDetails(14, 6)));
    await h.expectUsageCharged(async () => {
      let whole: AIMessageChunk | undefined;
      let chunks = 0;
      for await (const chunk of await llm.stream('Say it')) {
        whole = whole ? whole.concat(chunk) : chunk;
        chunks++;
      }
      expect(chunks).toBeGreaterThan(2);
      expect(whole!.content).toBe('Streaming through the gateway works.');
      return told(whole!);
    });
    const [body] = h.forwarded(mark);
    expect(body.stream).toBe(true);
  });

  it('streams tool calls: the concatenated chunks carry the whole call', async () => {
    const mark = h.mark();
    h.script(
      toolCallAnswer([{ id: 'call_ls', name: 'get_weather', arguments: { city: 'Nantes' } }], usageWithDetails(25, 10)),
    );
    await h.expectUsageCharged(async () => {
      let whole: AIMessageChunk | undefined;
      for await (const chunk of await llm.bindTools([weather]).stream('Weather in Nantes?'))
        whole = whole ? whole.concat(chunk) : chunk;
      expect(whole!.tool_calls).toEqual([
        { id: 'call_ls', name: 'get_weather', args: { city: 'Nantes' }, type: 'tool_call' },
      ]);
      return told(whole!);
    });
    h.forwarded(mark);
  });

  it('with its default retries, an upstream 400 fails the call at once: the upstream saw one request', async () => {
    const mark = h.mark();
    const retrying = new ChatOpenAI({
      model: MODEL,
      apiKey: h.key,
      configuration: { baseURL: h.baseURL, fetch: h.fetch },
    });
    h.upstream.enqueue({
      kind: 'status',
      status: 400,
      message: 'tools[0].function.parameters is not a valid schema',
      error: {
        type: 'invalid_request_error',
        code: 'invalid_function_parameters',
        param: 'tools[0].function.parameters',
      },
    });
    const err = await retrying
      .bindTools([weather])
      .invoke('Weather?')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, code: 'invalid_function_parameters' });
    expect((err as Error).message).toContain(`${MODEL}: tools[0].function.parameters is not a valid schema`);
    expect(h.forwarded(mark)).toHaveLength(1);
  });

  it('in the end, the quota ledger, usage_daily and inference_logs hold what the client was told', async () => {
    await h.expectBooksAgree();
  });
});
