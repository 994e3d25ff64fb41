import { Tokenizer } from '@huggingface/tokenizers';
import { readRealTokenizer, REAL_TOKENIZER_NAMES } from '../../model-tools/real-tokenizer-model';
import { ModelTokenizer } from './tokenizer';

const TEXTS = [
  'Hello world, this is a test.',
  '  leading spaces and\ttabs\nnew lines',
  'Unicode: 世界, café, naïve, 👨‍👩‍👧 and 🇫🇷.',
  'def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)',
  '<|im_start|>user\nhi<|im_end|>',
];

describe(ModelTokenizer.name, () => {
  it.each(REAL_TOKENIZER_NAMES)('%s: encodes and decodes as the library built the usual way', (name) => {
    const { tokenizerJson, tokenizerConfig } = readRealTokenizer(name);
    const reference = new Tokenizer(structuredClone(tokenizerJson), tokenizerConfig);
    const ours = new ModelTokenizer(tokenizerJson, tokenizerConfig);
    for (const text of TEXTS) {
      const ids = reference.encode(text, { add_special_tokens: true }).ids;
      expect(ours.encodePrompt(text)).toEqual(ids);
      expect(ours.encodeText(text)).toEqual(reference.encode(text, { add_special_tokens: false }).ids);
      expect(ours.decode(ids)).toBe(
        reference.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false }),
      );
    }
    expect(ours.vocabulary().tokens.length).toBeGreaterThan(30_000);
  });

  it('keeps no reference to the vocabulary and merges it only needed while building, and leaves the caller’s JSON whole', () => {
    const { tokenizerJson, tokenizerConfig } = readRealTokenizer('qwen3');
    const model = tokenizerJson.model as { vocab: object; merges: unknown[] };
    const [vocab, merges] = [model.vocab, model.merges];
    const ours = new ModelTokenizer(tokenizerJson, tokenizerConfig);
    expect(model.vocab).toBe(vocab);
    expect(model.merges).toBe(merges);
    const lib = (
      ours as unknown as { tokenizer: { tokenizer: { model: object }; model: { config: object; merges?: unknown } } }
    ).tokenizer;
    expect(lib.tokenizer.model).not.toHaveProperty('vocab');
    expect(lib.tokenizer.model).not.toHaveProperty('merges');
    expect(lib.model.config).not.toHaveProperty('vocab');
    expect(lib.model.merges).toBeUndefined();
    expect(ours.encodeText('still encodes')).toEqual(
      new Tokenizer(tokenizerJson, tokenizerConfig).encode('still encodes', { add_special_tokens: false }).ids,
    );
  });
});
