import { ChatTemplate, FALLBACK_CHAT_TEMPLATE, pickChatTemplate } from './chat-template';

const CHATML =
  "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

describe(ChatTemplate.name, () => {
  it('renders messages with the generation prompt', () => {
    const t = new ChatTemplate(CHATML, {});
    expect(
      t.render([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ]),
    ).toBe('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
  });

  it('exposes bos and eos tokens to the template', () => {
    const t = new ChatTemplate('{{ bos_token }}{% for m in messages %}{{ m.content + eos_token }}{% endfor %}', {
      bos_token: '<s>',
      eos_token: '</s>',
    });
    expect(t.render([{ role: 'user', content: 'a' }])).toBe('<s>a</s>');
  });

  it('rejects a broken template when it is built, not when it is used', () => {
    expect(() => new ChatTemplate('{% for m in messages %}', {})).toThrow();
  });

  it('has a usable fallback for folders without a template', () => {
    expect(new ChatTemplate(FALLBACK_CHAT_TEMPLATE, {}).render([{ role: 'user', content: 'x' }])).toBe(
      '<|user|>\nx\n<|assistant|>\n',
    );
  });
});

describe(pickChatTemplate.name, () => {
  it('takes a string, or the default of a named list', () => {
    expect(pickChatTemplate('T')).toBe('T');
    expect(
      pickChatTemplate([
        { name: 'tool_use', template: 'A' },
        { name: 'default', template: 'B' },
      ]),
    ).toBe('B');
    expect(pickChatTemplate(undefined)).toBeUndefined();
  });
});
