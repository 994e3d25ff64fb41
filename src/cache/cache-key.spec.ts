import type { GenerationParams } from '../models/provider.interface';
import { cacheKey, canonicalJson, keyMaterial, outputParams } from './cache-key';

const params: GenerationParams = {
  maxTokens: 16,
  temperature: 0.7,
  topP: 0.9,
  topK: 40,
  repetitionPenalty: 1,
  stop: [],
  seed: 3,
};

describe('cacheKey', () => {
  it('gives the same 32-byte digest for equal requests, whatever the property order', () => {
    const a = cacheKey({ model: 'm', version: 'v', prompt: 'p', params });
    const b = cacheKey({
      params: { seed: 3, stop: [], repetitionPenalty: 1, topK: 40, topP: 0.9, temperature: 0.7, maxTokens: 16 },
      prompt: 'p',
      version: 'v',
      model: 'm',
    });
    expect(a.bytes).toHaveLength(32);
    expect(a.id).toBe(b.id);
    expect(a.id).toBe(a.bytes.toString('hex'));
  });

  it('differs by model, version, prompt, messages and extra inputs', () => {
    const base = { model: 'm', version: 'v', prompt: 'p', params };
    const ids = new Set([
      cacheKey(base).id,
      cacheKey({ ...base, model: 'n' }).id,
      cacheKey({ ...base, version: 'w' }).id,
      cacheKey({ ...base, prompt: 'p ' }).id,
      cacheKey({ ...base, prompt: undefined, messages: [{ role: 'user', content: 'p' }] }).id,
      cacheKey({ ...base, extra: { response_format: 'json' } }).id,
    ]);
    expect(ids.size).toBe(6);
  });

  it('ignores sampling knobs under greedy decoding, but not max_tokens, stop or repetition penalty', () => {
    const greedy = { ...params, temperature: 0 };
    const g = outputParams(greedy);
    expect(g).toEqual(outputParams({ ...greedy, topP: 0.1, topK: 3, seed: 99 }));
    expect(g).not.toEqual(outputParams({ ...greedy, maxTokens: 17 }));
    expect(g).not.toEqual(outputParams({ ...greedy, stop: ['x'] }));
    expect(g).not.toEqual(outputParams({ ...greedy, repetitionPenalty: 1.2 }));
    expect(outputParams(params)).not.toEqual(outputParams({ ...params, seed: 4 }));
  });

  it('treats a missing and an empty message name alike', () => {
    const base = { model: 'm', version: 'v', params };
    expect(cacheKey({ ...base, messages: [{ role: 'user', content: 'hi' }] }).id).toBe(
      cacheKey({ ...base, messages: [{ role: 'user', content: 'hi', name: '' }] }).id,
    );
  });
});

describe('keyMaterial', () => {
  it.each([
    { model: 'm', version: 'v', prompt: 'p', params },
    { model: 'm', version: 'v', prompt: 'p', params: { ...params, temperature: 0, stop: ['b', 'a'] } },
    {
      model: 'm',
      version: 'v',
      messages: [{ role: 'user' as const, content: 'x', name: 'n' }],
      params,
      extra: { z: [{ a: 2, b: 1 }], a: 'q' },
    },
  ])('is canonical JSON (sorted keys at every level) for %#', (input) => {
    const m = keyMaterial(input);
    expect(canonicalJson(JSON.parse(m))).toBe(m);
  });

  it("keeps the order of an extra value's keys (a schema's order is the output's), not of the fields", () => {
    const base = { model: 'm', version: 'v', prompt: 'p', params };
    const schema = (props: Record<string, unknown>) => ({
      type: 'json_schema',
      json_schema: { schema: { properties: props } },
    });
    const ab = { response_format: schema({ a: { type: 'string' }, b: { type: 'number' } }), seed: 1 };
    const ba = { response_format: schema({ b: { type: 'number' }, a: { type: 'string' } }), seed: 1 };
    expect(cacheKey({ ...base, extra: ab }).id).not.toBe(cacheKey({ ...base, extra: ba }).id);
    // The fields themselves in any order: the same request.
    const fieldsSwapped = { seed: 1, response_format: ab.response_format };
    expect(cacheKey({ ...base, extra: fieldsSwapped }).id).toBe(cacheKey({ ...base, extra: ab }).id);
    expect(keyMaterial({ ...base, extra: ba })).toContain('"properties":{"b":{"type":"number"},"a":{"type":"string"}}');
  });

  it('refuses a non-finite parameter', () => {
    expect(() => keyMaterial({ model: 'm', version: 'v', prompt: 'p', params: { ...params, topP: NaN } })).toThrow(
      TypeError,
    );
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: undefined, x: 'q' }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"x":"q","z":1}]},"b":1}',
    );
  });

  it('refuses values that JSON would silently change', () => {
    expect(() => canonicalJson({ t: NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ t: Infinity })).toThrow(TypeError);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(TypeError);
  });
});
