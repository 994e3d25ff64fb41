import { readRealTokenizer } from '../../../model-tools/real-tokenizer-model';
import { ModelTokenizer } from '../tokenizer';
import { buildTokenIndex, type TokenIndex } from './token-index';

const shape = (ix: TokenIndex) => ({
  vocabSize: ix.vocabSize,
  singleByteTokens: ix.singleByteTokens,
  all: [
    Buffer.from(ix.all.byte).toString('hex'),
    Array.from(ix.all.firstId),
    Array.from(ix.all.end),
    [...ix.all.moreIds],
  ],
  rest: [Buffer.from(ix.rest.byte).toString('hex'), Array.from(ix.rest.firstId), [...ix.rest.moreIds]],
  plain: ix.plainInString.map((m) => Buffer.from(m).toString('base64')),
});

// Byte-level BPE (Qwen 3; Llama 3.1 is the same kind) and SentencePiece with byte fallback (Gemma 3).
describe.each(['qwen3', 'gemma3'] as const)('the token index of the real %s vocabulary', (name) => {
  it('is the same built from the loaded tokenizer (no re-parse) as from tokenizer.json', () => {
    const { tokenizerJson, tokenizerConfig } = readRealTokenizer(name) as {
      tokenizerJson: object;
      tokenizerConfig: Record<string, unknown>;
    };
    const fromJson = buildTokenIndex(tokenizerJson, 0);
    const fromView = buildTokenIndex(new ModelTokenizer(tokenizerJson, tokenizerConfig).vocabulary(), 0);
    expect(fromView.all.size).toBeGreaterThan(100_000);
    expect(shape(fromView)).toEqual(shape(fromJson));
  });
});
