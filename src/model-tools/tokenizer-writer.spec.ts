import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IM_END, IM_START, makeTokenizer } from './tokenizer-writer';

const SAMPLES = [
  'Hello, world!',
  '  leading spaces and trailing  ',
  'naïve café — 日本語のテキスト 🚀👩‍👩‍👧 emoji',
  'tabs\tand\nnewlines\r\n',
  'ab'.repeat(40),
];

const root = mkdtempSync(join(tmpdir(), 'model-tools-tok-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function load(kind: 'byte' | 'gpt2', chat: 'chatml' | 'plain') {
  const files = makeTokenizer(kind, chat, 2048);
  return { files, tok: new Tokenizer(files.tokenizerJson, files.tokenizerConfig) };
}

function render(template: string, messages: Array<{ role: string; content: string }>): string {
  return new Template(template).render({ messages, add_generation_prompt: true });
}

describe('byte tokenizer', () => {
  const { files, tok } = load('byte', 'chatml');

  it('has 256 byte tokens plus the three special tokens', () => {
    expect(files.vocabSize).toBe(259);
    expect([tok.token_to_id('<|endoftext|>'), tok.token_to_id(IM_START), tok.token_to_id(IM_END)]).toEqual([
      256, 257, 258,
    ]);
    expect(files.stopTokenIds).toEqual([258, 256]);
  });

  it.each(SAMPLES)('round-trips %j one token per UTF-8 byte', (text) => {
    const ids = tok.encode(text, { add_special_tokens: false }).ids;
    expect(ids).toEqual([...Buffer.from(text, 'utf8')]);
    expect(tok.decode(ids)).toBe(text);
  });

  it('encodes the rendered ChatML template with single-id special tokens', () => {
    const prompt = render(files.tokenizerConfig.chat_template as string, [{ role: 'user', content: 'Hi' }]);
    expect(prompt).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
    const ids = tok.encode(prompt, { add_special_tokens: false }).ids;
    expect(ids.slice(0, 9)).toEqual([257, ...Buffer.from('user\nHi'), 258]);
    expect(ids.filter((i: number) => i >= 256)).toEqual([257, 258, 257]);
    expect(tok.decode(ids, { skip_special_tokens: true })).toBe('user\nHi\nassistant\n');
  });
});

describe('GPT-2 tokenizer', () => {
  const { files, tok } = load('gpt2', 'chatml');

  it('encodes empty text to no tokens (note: this library throws on decode([]))', () => {
    expect(tok.encode('', { add_special_tokens: false }).ids).toEqual([]);
    expect(() => tok.decode([])).toThrow();
  });

  it('is the real GPT-2 vocabulary plus the chat tokens', () => {
    expect(files.vocabSize).toBe(50259);
    expect(tok.encode('Hello world', { add_special_tokens: false }).ids).toEqual([15496, 995]);
    expect(tok.token_to_id('<|endoftext|>')).toBe(50256);
    expect([tok.token_to_id(IM_START), tok.token_to_id(IM_END)]).toEqual([50257, 50258]);
  });

  it.each(SAMPLES)('round-trips %j', (text) => {
    expect(tok.decode(tok.encode(text, { add_special_tokens: false }).ids)).toBe(text);
  });

  it('plain template adds no tokens and renders role lines', () => {
    const plain = load('gpt2', 'plain');
    expect(plain.files.vocabSize).toBe(50257);
    expect(plain.files.stopTokenIds).toEqual([50256]);
    const prompt = render(plain.files.tokenizerConfig.chat_template as string, [{ role: 'user', content: 'Hi' }]);
    expect(prompt).toBe('user: Hi\nassistant:');
  });
});

describe('transformers.js AutoTokenizer', () => {
  it.each([['byte'], ['gpt2']] as const)('loads the %s tokenizer from a local folder and agrees', async (kind) => {
    const { files, tok } = load(kind, 'chatml');
    const dir = join(root, kind);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizerJson));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(files.tokenizerConfig));
    const { AutoTokenizer, env } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.localModelPath = root;
    const hf = await AutoTokenizer.from_pretrained(kind);
    const text = SAMPLES[2];
    const ids = hf.encode(text, { add_special_tokens: false });
    expect(ids).toEqual(tok.encode(text, { add_special_tokens: false }).ids);
    expect(hf.decode(ids)).toBe(text);
    const chat = hf.apply_chat_template([{ role: 'user', content: 'Hi' }], {
      add_generation_prompt: true,
      tokenize: false,
    });
    expect(chat).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
  });
});
