import type { GenerationParams } from '../models/provider.interface';
import { cachePolicy, isDeterministic, parseCacheControl } from './cache-policy';

const greedy: GenerationParams = { maxTokens: 8, temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, stop: [] };
const sampled = { ...greedy, temperature: 0.7 };

describe('parseCacheControl', () => {
  it.each([
    [undefined, false, false],
    ['', false, false],
    ['no-cache', false, true],
    ['No-Store', true, false],
    ['max-age=0', false, true],
    ['max-age="0"', false, true],
    ['max-age=60', false, false],
    ['private, no-cache , no-store', true, true],
    [['no-cache', 'no-store'], true, true],
    ['no-cachex', false, false],
  ])('reads %j as no-store=%s no-cache=%s', (header, noStore, noCache) => {
    expect(parseCacheControl(header as string | string[] | undefined)).toEqual({ noStore, noCache });
  });
});

describe('cachePolicy', () => {
  it('caches greedy or seeded requests in deterministic mode, and nothing else', () => {
    expect(isDeterministic(greedy)).toBe(true);
    expect(isDeterministic({ ...sampled, seed: 0 })).toBe(true);
    expect(isDeterministic(sampled)).toBe(false);
    expect(cachePolicy('deterministic', greedy, undefined, 60)).toBe('read-write');
    expect(cachePolicy('deterministic', sampled, undefined, 60)).toBe('bypass');
    expect(cachePolicy('all', sampled, undefined, 60)).toBe('read-write');
    expect(cachePolicy('off', greedy, undefined, 60)).toBe('bypass');
  });

  it('applies the request directives and a zero TTL', () => {
    expect(cachePolicy('all', greedy, 'no-cache', 60)).toBe('write-only');
    expect(cachePolicy('all', greedy, 'no-store', 60)).toBe('bypass');
    expect(cachePolicy('all', greedy, 'no-cache, no-store', 60)).toBe('bypass');
    expect(cachePolicy('all', greedy, undefined, 0)).toBe('bypass');
  });

  it('never caches a request for several choices (n or best_of above 1)', () => {
    const greedy = { maxTokens: 8, temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, stop: [] };
    expect(cachePolicy('deterministic', greedy, undefined, 60, 2)).toBe('bypass');
    expect(cachePolicy('deterministic', greedy, undefined, 60, 1)).toBe('read-write');
  });
});
