/** Schemas shared by the constrained-decoding specs and bench: the strict subset, nested. */
export const TEST_SCHEMAS: Record<string, unknown> = {
  flat: {
    type: 'object',
    properties: {
      name: { type: 'string' },
      age: { type: 'integer' },
      score: { type: 'number' },
      ok: { type: 'boolean' },
    },
    required: ['name', 'age', 'score', 'ok'],
    additionalProperties: false,
  },
  nested: {
    type: 'object',
    properties: {
      user: { $ref: '#/$defs/user' },
      tags: { type: 'array', items: { type: 'string', enum: ['red', 'green', 'blüe "quoted"'] } },
      status: { const: 'active' },
      note: { type: ['string', 'null'] },
      items: { type: 'array', items: { $ref: '#/$defs/item' } },
    },
    required: ['user', 'tags', 'status', 'note', 'items'],
    additionalProperties: false,
    $defs: {
      user: {
        type: 'object',
        description: 'annotations are ignored',
        properties: { id: { type: 'integer' }, email: { type: 'string' } },
        required: ['id', 'email'],
        additionalProperties: false,
      },
      item: {
        anyOf: [
          {
            type: 'object',
            properties: { kind: { const: 'book' }, pages: { type: 'integer' } },
            required: ['kind', 'pages'],
            additionalProperties: false,
          },
          {
            type: 'object',
            properties: { kind: { const: 'film' }, minutes: { type: 'number' } },
            required: ['kind', 'minutes'],
            additionalProperties: false,
          },
        ],
      },
    },
  },
  optional: {
    type: 'object',
    properties: { a: { type: 'string' }, b: { type: 'integer' }, c: { type: 'null' } },
    required: ['b'],
    additionalProperties: false,
  },
  recursive: {
    $ref: '#/$defs/node',
    $defs: {
      node: {
        type: 'object',
        properties: { value: { type: 'integer' }, children: { type: 'array', items: { $ref: '#/$defs/node' } } },
        required: ['value', 'children'],
        additionalProperties: false,
      },
    },
  },
  converging: {
    type: 'array',
    items: { anyOf: [{ type: 'integer' }, { type: 'number' }, { type: 'array', items: { type: 'integer' } }] },
  },
  rootArray: { type: 'array', items: { anyOf: [{ type: 'number' }, { type: 'boolean' }, { type: 'null' }] } },
};
