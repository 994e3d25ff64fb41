import type { Tokenizer } from '@huggingface/tokenizers';
import { buildCompactly } from '../compact-tokenizer';
import type { ChatMessage } from '../provider.interface';
import { ChatTemplate, FALLBACK_CHAT_TEMPLATE, pickChatTemplate, type SpecialTokens } from './chat-template';
import { isByteLevel, type VocabularyView } from './constrained/token-index';
import type { TokenDecoder } from './detokenizer';

/** The tokenizer side of a model folder: encoding, decoding and the chat template. */
export class ModelTokenizer implements TokenDecoder {
  private readonly tokenizer: Tokenizer;
  readonly chatTemplate: ChatTemplate;
  readonly specialTokens: SpecialTokens;
  /** Ids of the added tokens marked special (dropped from completion text). */
  private readonly specialIds: ReadonlySet<number>;
  private readonly added: VocabularyView['added'];
  private readonly byteLevel: boolean;

  constructor(tokenizerJson: object, tokenizerConfig: Record<string, unknown>, chatTemplateOverride?: string) {
    this.tokenizer = buildCompactly(tokenizerJson, tokenizerConfig);
    const added =
      (tokenizerJson as { added_tokens?: { id: number; content: string; special?: boolean }[] }).added_tokens ?? [];
    this.specialIds = new Set(added.filter((t) => t.special).map((t) => t.id));
    this.added = added.map(({ id, content, special }) => ({ id, content, special }));
    this.byteLevel = isByteLevel(tokenizerJson);
    this.specialTokens = readSpecialTokens(tokenizerConfig);
    const source = chatTemplateOverride ?? pickChatTemplate(tokenizerConfig.chat_template) ?? FALLBACK_CHAT_TEMPLATE;
    this.chatTemplate = new ChatTemplate(source, this.specialTokens);
  }

  /** Raw prompts get the tokenizer's own special tokens (e.g. LLaMA's BOS). */
  encodePrompt(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: true }).ids;
  }

  /** Chat prompts: the template already wrote every special token, as in `apply_chat_template`. */
  encodeChat(messages: readonly ChatMessage[]): number[] {
    return this.tokenizer.encode(this.chatTemplate.render(messages), { add_special_tokens: false }).ids;
  }

  /** Text as a template rendered it: no special tokens added (tool prompts, constrained prefixes). */
  encodeText(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  countTokens(input: string | readonly ChatMessage[]): number {
    return typeof input === 'string' ? this.encodePrompt(input).length : this.encodeChat(input).length;
  }

  /** Completion text: special tokens dropped, no space clean-up so streamed pieces concatenate exactly. */
  decode(ids: readonly number[]): string {
    if (ids.length === 0) return ''; // the library throws on an empty list
    return this.tokenizer.decode(ids as number[], { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }

  /** The vocabulary as the tokenizer holds it (for the constraint's token index): no copy. */
  vocabulary(): VocabularyView {
    const model = (this.tokenizer as unknown as { model: { vocab: string[] } }).model;
    return { tokens: model.vocab, added: this.added, byteLevel: this.byteLevel };
  }

  /**
   * A decoder like `decode` that keeps the given special tokens' text: a tool-call format whose
   * marker is a special token (`<|python_tag|>`, `[TOOL_CALLS]`) must see it in the text.
   */
  decoderKeeping(keep: ReadonlySet<number>): TokenDecoder {
    if (keep.size === 0) return this;
    return {
      decode: (ids) => {
        const kept = ids.filter((id) => !this.specialIds.has(id) || keep.has(id));
        if (kept.length === 0) return '';
        return this.tokenizer.decode(kept, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
      },
    };
  }

  /** One token's text as `logprobs` reports it (special tokens included). */
  tokenText(id: number): string {
    return this.tokenizer.decode([id], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  tokenId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }
}

function readSpecialTokens(config: Record<string, unknown>): SpecialTokens {
  const out: SpecialTokens = {};
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token'] as const) {
    const value = config[key];
    const text = typeof value === 'string' ? value : (value as { content?: unknown } | null)?.content;
    if (typeof text === 'string' && text) out[key] = text;
  }
  return out;
}
