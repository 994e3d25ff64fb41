import { Template } from '@huggingface/jinja';
import type { ChatMessage } from '../provider.interface';

/**
 * Used when a folder ships no chat template (base models such as GPT-2): a plain ChatML-style
 * transcript, so chat requests still work and count tokens consistently.
 */
export const FALLBACK_CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";

/** The special tokens a template may refer to (`bos_token`, `eos_token` ...). */
export type SpecialTokens = Partial<Record<'bos_token' | 'eos_token' | 'unk_token' | 'pad_token', string>>;

/** Variables a template may read besides `messages` (Hugging Face names). */
export interface TemplateVariables {
  tools?: readonly object[];
  add_generation_prompt?: boolean;
  [name: string]: unknown;
}

/** A compiled chat template: renders messages the way `apply_chat_template` does. */
export class ChatTemplate {
  private readonly template: Template;

  constructor(
    readonly source: string,
    private readonly specialTokens: SpecialTokens,
  ) {
    // Parsing here, at load, turns a broken template into a load error rather than a 500 later.
    this.template = new Template(source);
  }

  /**
   * Renders as `apply_chat_template` with extra variables: `tools` (OpenAI tool definitions, the
   * shape Hugging Face templates read), messages carrying `tool_calls` / `tool_call_id`, and
   * options such as `add_generation_prompt: false`. `render` stays the plain-chat path.
   */
  renderWith(messages: readonly object[], variables: TemplateVariables = {}): string {
    const { tools, add_generation_prompt = true, ...rest } = variables;
    return this.template.render({
      ...rest,
      messages: messages.map((m) => ({ ...m })),
      ...(tools && tools.length ? { tools } : {}),
      add_generation_prompt,
      ...this.specialTokens,
    });
  }

  render(messages: readonly ChatMessage[]): string {
    return this.template.render({
      messages: messages.map((m) => ({ ...m })),
      add_generation_prompt: true,
      ...this.specialTokens,
    });
  }
}

/**
 * The template text from tokenizer_config.json: a string, or a list of named templates
 * (`default` wins, as in transformers).
 */
export function pickChatTemplate(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw;
  if (Array.isArray(raw)) {
    const named = raw.filter(
      (t): t is { name: string; template: string } => typeof t?.name === 'string' && typeof t?.template === 'string',
    );
    return (named.find((t) => t.name === 'default') ?? named[0])?.template;
  }
  return undefined;
}
