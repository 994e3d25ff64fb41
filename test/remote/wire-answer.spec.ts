import {
  answerChunks,
  logprobsAnswer,
  nChoicesAnswer,
  refusalAnswer,
  textCompletionAnswer,
  toolCallAnswer,
  jsonSchemaAnswer,
} from '../helpers/openai-answers';
import { WireAccumulator, type WireObject } from '../../src/models/wire/wire-accumulator';
import { generatedText, splitWhole } from '../../src/models/wire/wire-splitter';

function accumulate(chunks: WireObject[]): WireObject {
  const acc = new WireAccumulator();
  chunks.forEach((c) => acc.add(c));
  return acc.whole();
}

const parallel = toolCallAnswer([
  { id: 'call_a', name: 'get_weather', arguments: { city: 'Paris' } },
  { id: 'call_b', name: 'get_time', arguments: { tz: 'Europe/Paris' } },
]);
const logprobs = logprobsAnswer(['Hel', 'lo', '!'], 2);
logprobs.choices[0].message.refusal = 'no';
logprobs.choices[0].logprobs.refusal = [{ token: 'no', logprob: -1, bytes: [110, 111], top_logprobs: [] }];
const withLegacyCall = nChoicesAnswer(['x']);
withLegacyCall.choices[0].message.function_call = { name: 'f', arguments: '{"a":1}' };
const legacyLogprobs = textCompletionAnswer(['ab', 'cd']);
legacyLogprobs.choices[1].logprobs = {
  tokens: ['c', 'd'],
  token_logprobs: [-1, -2],
  top_logprobs: [{ c: -1 }, { d: -2 }],
  text_offset: [0, 1],
};

const answers: Array<[string, WireObject]> = [
  ['parallel tool calls', parallel],
  ['a refusal', refusalAnswer('I cannot help with that.')],
  ['content and refusal with logprobs', logprobs],
  ['n = 3 choices', nChoicesAnswer(['one', 'two', 'three'])],
  ['a json_schema answer', jsonSchemaAnswer({ name: 'Ada', tags: ['x'] })],
  ['a legacy function_call', withLegacyCall],
  ['legacy completions with logprobs', legacyLogprobs],
];

describe('wire answers: splitWhole and WireAccumulator', () => {
  it.each(answers)('round-trips %s: whole → chunks → whole equals the original (usage aside)', (_name, whole) => {
    const { usage: _u, ...rest } = whole;
    expect(accumulate(splitWhole(whole))).toEqual(rest);
  });

  it.each(answers)('joins the chunks OpenAI streams for %s back into the whole answer', (_name, whole) => {
    const joined = accumulate(answerChunks(whole as never, true));
    const expected = structuredClone(whole);
    // The fake streams only what OpenAI streams: no annotations.
    for (const c of expected.choices as WireObject[]) delete c.message?.annotations;
    expect(joined).toEqual(expected);
  });

  it('splits a tool call the way OpenAI streams it: id, type and name with empty arguments first', () => {
    const chunks = splitWhole(parallel);
    const calls = chunks.flatMap((c) => (c.choices[0].delta?.tool_calls as WireObject[] | undefined) ?? []);
    expect(calls[0]).toEqual({
      index: 0,
      id: 'call_a',
      type: 'function',
      function: { name: 'get_weather', arguments: '' },
    });
    expect(calls[1]).toEqual({ index: 0, function: { arguments: '{"city":"Paris"}' } });
    expect(calls[2]).toMatchObject({ index: 1, id: 'call_b' });
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.system_fingerprint === 'fp_upstream')).toBe(
      true,
    );
    expect(chunks.at(-1)!.choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'tool_calls' });
  });

  it('keeps the first non-null envelope field and unknown choice fields', () => {
    const joined = accumulate([
      {
        id: 'a',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'm',
        system_fingerprint: null,
        choices: [{ index: 0, delta: { role: 'assistant' } }],
      },
      {
        id: 'a',
        created: 1,
        model: 'm',
        system_fingerprint: 'fp_late',
        choices: [{ index: 0, delta: { content: 'x' }, finish_reason: 'stop', stop_reason: 42 }],
      },
    ]);
    expect(joined).toEqual({
      id: 'a',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      system_fingerprint: 'fp_late',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'x' },
          logprobs: null,
          finish_reason: 'stop',
          stop_reason: 42,
        },
      ],
    });
  });

  it('counts the text of every choice, refusals and tool-call names and arguments', () => {
    expect(generatedText(nChoicesAnswer(['ab', 'cd']))).toBe('abcd');
    expect(generatedText(parallel)).toBe('get_weather{"city":"Paris"}get_time{"tz":"Europe/Paris"}');
    expect(generatedText(refusalAnswer('no'))).toBe('no');
    expect(generatedText(textCompletionAnswer(['p', 'q']))).toBe('pq');
  });
});
