import Ajv from 'ajv';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { inGroups, LocalApi, QWEN, sumUsage } from '../helpers/local-api';

/**
 * Structured output from a local model (issue 15) through the official SDK: the engine masks
 * every token that cannot continue a valid document, so even random weights answer documents
 * that parse and validate, closed within max_tokens (docs/constrained-decoding.md).
 */

// Nested, with each kind of field: string, integer, enum, array of objects, and an optional
// field (OpenAI's strict mode spells optional as nullable; the SDK refuses a bare .optional()).
const Order = z.object({
  customer: z.string(),
  quantity: z.number().int(),
  status: z.enum(['pending', 'shipped', 'delivered']),
  lines: z.array(z.object({ sku: z.string(), price: z.number() })),
  note: z.string().nullable(),
});

// A raw schema with what zod cannot send through the SDK: a property left out of `required`,
// $defs/$ref, anyOf, const.
const TICKET_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    owner: { $ref: '#/$defs/person' },
    tags: { type: 'array', items: { type: 'string', enum: ['bug', 'feature', 'docs'] } },
    due: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    version: { const: 2 },
  },
  required: ['id', 'owner', 'version'],
  additionalProperties: false,
  $defs: {
    person: {
      type: 'object',
      properties: { name: { type: 'string' }, admin: { type: 'boolean' } },
      required: ['name', 'admin'],
      additionalProperties: false,
    },
  },
};

const ajv = new Ajv({ strict: false });
const messages = [{ role: 'user' as const, content: 'Extract the order: two boxes of tea for Ada, shipped.' }];

describe('structured output from a local model over the OpenAI API', () => {
  let api: LocalApi;
  beforeAll(async () => {
    api = await LocalApi.start();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('chat.completions.parse with a nested zod schema returns a valid parsed object, 50 seeds', async () => {
    const format = zodResponseFormat(Order, 'order');
    const validate = ajv.compile(format.json_schema.schema!);
    const answers = await inGroups(50, 10, (i) =>
      api.client.chat.completions.parse({
        model: QWEN,
        messages,
        response_format: format,
        temperature: 1,
        seed: 1000 + i,
        max_tokens: 120,
      }),
    );
    const docs = new Set<string>();
    for (const r of answers) {
      const choice = r.choices[0];
      // The budget closes the document in time: never cut by length.
      expect(choice.finish_reason).toBe('stop');
      expect(r.usage!.completion_tokens).toBeLessThanOrEqual(120);
      const parsed = choice.message.parsed;
      expect(Order.safeParse(parsed).success).toBe(true);
      expect(validate(parsed)).toBe(true);
      expect(JSON.parse(choice.message.content!)).toEqual(parsed);
      docs.add(choice.message.content!);
    }
    // Different seeds sample different documents.
    expect(docs.size).toBeGreaterThan(40);
  }, 300_000);

  it('a raw strict schema with an optional property, $defs/$ref, anyOf and const validates', async () => {
    const validate = ajv.compile(TICKET_SCHEMA);
    const answers = await inGroups(10, 10, (i) =>
      api.client.chat.completions.create({
        model: QWEN,
        messages: [{ role: 'user', content: 'File a ticket.' }],
        response_format: { type: 'json_schema', json_schema: { name: 'ticket', strict: true, schema: TICKET_SCHEMA } },
        temperature: 1,
        seed: i,
        max_tokens: 90,
      }),
    );
    for (const r of answers) {
      expect(r.choices[0].finish_reason).toBe('stop');
      const doc = JSON.parse(r.choices[0].message.content!);
      expect(validate(doc)).toBe(true);
      expect(doc.version).toBe(2);
    }
  }, 120_000);

  it('json_object answers a JSON object', async () => {
    const answers = await inGroups(8, 8, (i) =>
      api.client.chat.completions.create({
        model: QWEN,
        messages: [{ role: 'user', content: 'Answer in JSON.' }],
        response_format: { type: 'json_object' },
        temperature: 1,
        seed: 50 + i,
        max_tokens: 40,
      }),
    );
    for (const r of answers) {
      expect(r.choices[0].finish_reason).toBe('stop');
      const doc = JSON.parse(r.choices[0].message.content!);
      expect(typeof doc).toBe('object');
      expect(Array.isArray(doc)).toBe(false);
      expect(doc).not.toBeNull();
    }
  });

  it('streams the same document as the non-streamed answer for a fixed seed', async () => {
    const body = {
      model: QWEN,
      messages,
      response_format: zodResponseFormat(Order, 'order'),
      temperature: 1,
      seed: 77,
      max_tokens: 100,
    };
    const whole = await api.client.chat.completions.create(body);
    const stream = await api.client.chat.completions.create({
      ...body,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(whole.choices[0].message.content);
    expect(Order.safeParse(JSON.parse(text)).success).toBe(true);
    expect(finish).toBe('stop');
    expect(usage).toEqual(whole.usage);
  });

  it('refuses a schema keyword outside the strict subset, naming it, and charges nothing', async () => {
    const schema = {
      type: 'object',
      properties: { code: { type: 'string', pattern: '^[A-Z]{3}$' } },
      required: ['code'],
      additionalProperties: false,
    };
    await api.expectNothingCharged(async () => {
      for (const stream of [false, true]) {
        const r = await api.post('/v1/chat/completions', {
          model: QWEN,
          messages,
          stream,
          response_format: { type: 'json_schema', json_schema: { name: 'code', strict: true, schema } },
        });
        expect(r.status).toBe(400);
        expect(r.body.error.code).toBe('unsupported_parameter');
        expect(r.body.error.param).toMatch(/^response_format/);
        expect(r.body.error.message).toContain('pattern');
      }
    });
  });

  it('refuses max_tokens below the shortest valid document before any work, and charges nothing', async () => {
    await api.expectNothingCharged(async () => {
      for (const cap of [{ max_tokens: 1 }, { max_completion_tokens: 5 }]) {
        const r = await api.post('/v1/chat/completions', {
          model: QWEN,
          messages,
          ...cap,
          response_format: zodResponseFormat(Order, 'order'),
        });
        expect(r.status).toBe(400);
        expect(r.body.error.code).toBe('invalid_request');
        expect(r.body.error.param).toBe(Object.keys(cap)[0]);
      }
    });
  });

  it('charges exactly the usage the client was told for structured answers', async () => {
    await api.expectCharged(async () => {
      const rs = await inGroups(3, 3, (i) =>
        api.client.chat.completions.parse({
          model: QWEN,
          messages,
          response_format: zodResponseFormat(Order, 'order'),
          temperature: 1,
          seed: 500 + i,
          max_tokens: 90,
        }),
      );
      return sumUsage(rs);
    });
  });
});
