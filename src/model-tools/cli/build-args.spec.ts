import { resolve } from 'node:path';
import { BENCH_MODEL_SPEC, DEFAULT_MODEL_SPEC, LARGE_MODEL_SPEC } from '../default-model';
import { UsageError, toInt } from './args';
import { buildOptionsFromArgs } from './build-args';

describe('model:build arguments', () => {
  it('builds the default model into models/tiny when given nothing', () => {
    expect(buildOptionsFromArgs([])).toEqual({ ...DEFAULT_MODEL_SPEC, outDir: resolve('models/tiny') });
  });

  it('takes the large preset and --genai', () => {
    expect(buildOptionsFromArgs(['--preset', 'large', '--genai', '--out', '/tmp/g'])).toEqual({
      ...LARGE_MODEL_SPEC,
      outDir: '/tmp/g',
      genai: true,
    });
  });

  it('applies every option over the preset', () => {
    const argv =
      '--arch gpt2 --out /tmp/x --layers 3 --hidden 48 --heads 6 --vocab byte --seed 9 --no-position-ids --legacy-name --chat-template plain'.split(
        ' ',
      );
    expect(buildOptionsFromArgs(argv)).toEqual({
      arch: 'gpt2',
      vocab: 'byte',
      seed: 9,
      outDir: '/tmp/x',
      layers: 3,
      hidden: 48,
      heads: 6,
      positionIds: false,
      legacyName: true,
      chatTemplate: 'plain',
    });
    expect(buildOptionsFromArgs(['--preset', 'bench', '--kv-heads', '2'])).toEqual({
      ...BENCH_MODEL_SPEC,
      kvHeads: 2,
      outDir: resolve('models/tiny'),
    });
    expect(buildOptionsFromArgs(['--help'])).toBeNull();
  });

  it.each([
    [['--layers', 'two'], /--layers must be an integer/],
    [['--vocab', 'bpe'], /--vocab must be gpt2 or byte/],
    [['--preset', 'huge'], /unknown preset "huge"/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['stray'], /unexpected argument "stray"/],
  ])('refuses %j', (argv, message) => {
    expect(() => buildOptionsFromArgs(argv)).toThrow(message);
    expect(() => buildOptionsFromArgs(argv)).toThrow(UsageError);
  });

  it('parses integers strictly', () => {
    expect(toInt('n', '12')).toBe(12);
    expect(toInt('n', undefined)).toBeUndefined();
    expect(() => toInt('n', '1.5')).toThrow(UsageError);
  });
});
