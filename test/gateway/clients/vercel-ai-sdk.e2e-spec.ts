import { createOpenAI, type OpenAIProvider } from '@ai-sdk/openai';
import {
  APICallError,
  generateObject,
  generateText,
  Output,
  stepCountIs,
  streamText,
  tool,
  type LanguageModelUsage,
} from 'ai';
import { z } from 'zod';
import { jsonSchemaAnswer, nChoicesAnswer, toolCallAnswer, usageWithDetails } from '../../helpers/openai-answers';
import { ClientsHarness, lastMessage, MODEL, type Usage } from './client-harness';

const told = (u: LanguageModelUsage): Usage => ({ prompt: u.inputTokens!, completion: u.outputTokens! });

const Recipe = z.object({ name: z.string(), steps: z.array(z.string()) });
const RECIPE = { name: 'Crêpes', steps: ['mix', 'rest', 'cook'] };

/**
 * The Vercel AI SDK (v6) against our /v1, for a remote model (issue 13). `openai(model)` speaks
 * the Responses API, which we do not serve yet (issue 14): these use `openai.chat(model)`.
 */
describe('the Vercel AI SDK against a remote model', () => {
  let h: ClientsHarness;
  let openai: OpenAIProvider;
  const calls: Array<{ city: string }> = [];
  const weather = tool({
    description: 'Current weather of a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      calls.push({ city });
      return { city, celsius: 19 };
    },
  });

  beforeAll(async () => {
    h = await ClientsHarness.start();
    openai = createOpenAI({ baseURL: h.baseURL, apiKey: h.key, fetch: h.fetch });
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(() => (calls.length = 0));

  it('generateText runs a tool and a second step with its result (stopWhen), sending max_tokens as asked', async () => {
    const mark = h.mark();
    h.script(
      toolCallAnswer(
        [{ id: 'call_v1', name: 'weather', arguments: { city: 'Brest' } }],
        usageWithDetails(44, 15, 32, 0),
      ),
      nChoicesAnswer(['19 °C in Brest.'], usageWithDetails(80, 6)),
    );
    await h.expectUsageCharged(async () => {
      const r = await generateText({
        model: openai.chat(MODEL),
        tools: { weather },
        stopWhen: stepCountIs(2),
        maxOutputTokens: 64,
        maxRetries: 0,
        prompt: 'Weather in Brest?',
      });
      expect(r.steps).toHaveLength(2);
      expect(r.steps[0].toolCalls.map((c) => [c.toolCallId, c.toolName, c.input])).toEqual([
        ['call_v1', 'weather', { city: 'Brest' }],
      ]);
      expect(r.text).toBe('19 °C in Brest.');
      expect(r.steps[0].usage.inputTokenDetails.cacheReadTokens).toBe(32);
      return told(r.totalUsage);
    });
    expect(calls).toEqual([{ city: 'Brest' }]);
    const [turn1, turn2] = h.forwarded(mark);
    expect(turn1.max_tokens).toBe(64);
    expect(turn1.max_completion_tokens).toBeUndefined();
    expect(turn1.tools).toEqual([
      {
        type: 'function',
        function: expect.objectContaining({
          name: 'weather',
          parameters: expect.objectContaining({ type: 'object', required: ['city'] }),
        }),
      },
    ]);
    expect(lastMessage(turn2)).toEqual({
      role: 'tool',
      tool_call_id: 'call_v1',
      content: JSON.stringify({ city: 'Brest', celsius: 19 }),
    });
  });

  it('a reasoning model gets max_completion_tokens and reasoning_effort, as the SDK sends them', async () => {
    const mark = h.mark();
    h.script(nChoicesAnswer(['ok'], usageWithDetails(9, 30, 0, 28)));
    await h.expectUsageCharged(async () => {
      const r = await generateText({
        model: openai.chat(MODEL),
        maxOutputTokens: 100,
        maxRetries: 0,
        prompt: 'Think, then say ok',
        providerOptions: { openai: { forceReasoning: true, reasoningEffort: 'low' } },
      });
      expect(r.text).toBe('ok');
      expect(r.usage.outputTokenDetails.reasoningTokens).toBe(28);
      return told(r.usage);
    });
    const [body] = h.forwarded(mark);
    expect(body).toMatchObject({ max_completion_tokens: 100, reasoning_effort: 'low' });
    expect(body.max_tokens).toBeUndefined();
  });

  it('generateObject sends a strict json_schema and returns the validated object', async () => {
    const mark = h.mark();
    h.script(jsonSchemaAnswer(RECIPE, usageWithDetails(21, 14)));
    await h.expectUsageCharged(async () => {
      const r = await generateObject({
        model: openai.chat(MODEL),
        schema: Recipe,
        schemaName: 'recipe',
        maxRetries: 0,
        prompt: 'A crêpe recipe',
      });
      expect(r.object).toEqual(RECIPE);
      return told(r.usage);
    });
    const [body] = h.forwarded(mark);
    expect(body.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: { name: 'recipe', strict: true, schema: { type: 'object', required: ['name', 'steps'] } },
    });
  });

  it('generateText with output: Output.object returns the object too', async () => {
    const mark = h.mark();
    h.script(jsonSchemaAnswer(RECIPE, usageWithDetails(22, 14)));
    await h.expectUsageCharged(async () => {
      const r = await generateText({
        model: openai.chat(MODEL),
        output: Output.object({ schema: Recipe }),
        maxRetries: 0,
        prompt: 'A crêpe recipe',
      });
      expect(r.output).toEqual(RECIPE);
      return told(r.usage);
    });
    expect(h.forwarded(mark)[0].response_format).toMatchObject({ type: 'json_schema', json_schema: { strict: true } });
  });

  it('streamText with tools: streamed tool-call deltas run the tool, then the answer streams', async () => {
    const mark = h.mark();
    h.script(
      toolCallAnswer([{ id: 'call_vs', name: 'weather', arguments: { city: 'Rennes' } }], usageWithDetails(41, 13)),
      nChoicesAnswer(['19 °C in Rennes, dry.'], usageWithDetails(77, 8)),
    );
    const deltas: string[] = [];
    await h.expectUsageCharged(async () => {
      const r = streamText({
        model: openai.chat(MODEL),
        tools: { weather },
        stopWhen: stepCountIs(2),
        maxRetries: 0,
        prompt: 'Weather in Rennes?',
      });
      for await (const part of r.fullStream) {
        if (part.type === 'tool-input-delta') deltas.push(part.delta);
        if (part.type === 'error') throw part.error;
      }
      expect(await r.text).toBe('19 °C in Rennes, dry.');
      expect((await r.steps)[0].toolCalls.map((c) => c.input)).toEqual([{ city: 'Rennes' }]);
      return told(await r.totalUsage);
    });
    expect(calls).toEqual([{ city: 'Rennes' }]);
    expect(deltas.join('')).toBe('{"city":"Rennes"}');
    const [turn1, turn2] = h.forwarded(mark);
    // The SDK asks for usage itself; the gateway forwards its stream_options as they were.
    expect(turn1.stream_options).toEqual({ include_usage: true });
    expect(lastMessage(turn2)).toMatchObject({ role: 'tool', tool_call_id: 'call_vs' });
  });

  it('with its default retries, an upstream 400 raises APICallError at once: the upstream saw one request', async () => {
    const mark = h.mark();
    h.upstream.enqueue({
      kind: 'status',
      status: 400,
      message: "Invalid schema for response_format 'recipe'",
      error: { type: 'invalid_request_error', code: 'invalid_json_schema', param: 'response_format' },
    });
    const err = await generateObject({
      model: openai.chat(MODEL),
      schema: Recipe,
      schemaName: 'recipe',
      prompt: 'A recipe',
    }).catch((e: unknown) => e);
    expect(APICallError.isInstance(err)).toBe(true);
    expect(err).toMatchObject({ statusCode: 400, isRetryable: false });
    expect((err as APICallError).message).toContain(`${MODEL}: Invalid schema`);
    expect(h.forwarded(mark)).toHaveLength(1);
  });

  it('in the end, the quota ledger, usage_daily and inference_logs hold what the client was told', async () => {
    await h.expectBooksAgree();
  });
});
