import { ApiError } from '../../common/errors/api-error';
import { refuseStatefulFields, responsesParam, toChatBody } from './responses-to-chat';
import { responsesRequestSchema, type ResponsesBody } from './responses.schemas';

const body = (b: Record<string, unknown>): ResponsesBody => responsesRequestSchema.parse({ input: 'x', ...b });

function refusal(fn: () => unknown): { code: string; param: string | null } {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return { code: err.code, param: err.param };
    throw err;
  }
  throw new Error('not refused');
}

describe(toChatBody.name, () => {
  it('sends a plain string input as one user message, and only the fields that were given', () => {
    expect(toChatBody(body({ model: 'm', input: 'hello' }))).toEqual({
      model: 'm',
      messages: [{ role: 'user', content: 'hello' }],
    });
  });

  it('joins function calls to the assistant message before them, as one chat message with tool_calls', () => {
    const chat = toChatBody(
      body({
        input: [
          { role: 'user', content: 'two cities' },
          {
            type: 'message',
            role: 'assistant',
            id: 'msg_1',
            status: 'completed',
            content: [{ type: 'output_text', text: 'Checking.', annotations: [] }],
          },
          { type: 'function_call', id: 'fc_1', call_id: 'c1', name: 'w', arguments: '{"c":"A"}', status: 'completed' },
          { type: 'function_call', call_id: 'c2', name: 'w', arguments: '{"c":"B"}' },
          { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
          { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'rain' }] },
        ],
      }),
    );
    expect(chat.messages).toEqual([
      { role: 'user', content: 'two cities' },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'w', arguments: '{"c":"A"}' } },
          { id: 'c2', type: 'function', function: { name: 'w', arguments: '{"c":"B"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'c2', content: [{ type: 'text', text: 'rain' }] },
    ]);
  });

  it('translates image and file parts, allowed_tools, json_object, logprobs and stream', () => {
    const chat = toChatBody(
      body({
        input: [
          {
            role: 'user',
            content: [
              { type: 'input_image', image_url: 'data:image/png;base64,AA==', detail: 'low' },
              { type: 'input_file', filename: 'a.pdf', file_data: 'data:application/pdf;base64,AA==' },
            ],
          },
        ],
        tool_choice: { type: 'allowed_tools', mode: 'required', tools: [{ type: 'function', name: 'f' }] },
        text: { format: { type: 'json_object' } },
        include: ['message.output_text.logprobs'],
        top_logprobs: 3,
        stream: true,
      }),
    );
    expect((chat.messages as unknown[])[0]).toEqual({
      role: 'user',
      content: [
        { type: 'image_url', image_url: { url: 'data:image/png;base64,AA==', detail: 'low' } },
        { type: 'file', file: { file_data: 'data:application/pdf;base64,AA==', filename: 'a.pdf' } },
      ],
    });
    expect(chat).toMatchObject({
      tool_choice: {
        type: 'allowed_tools',
        allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: 'f' } }] },
      },
      response_format: { type: 'json_object' },
      logprobs: true,
      top_logprobs: 3,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it.each([
    [{ input: [{ type: 'reasoning', id: 'rs_1', summary: [] }] }, 'input.0.type'],
    [{ input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1' }] }] }, 'input.0.content.0'],
    [{ input: [{ role: 'user', content: [{ type: 'input_audio' }] }] }, 'input.0.content.0.type'],
    [{ tool_choice: { type: 'web_search' } }, 'tool_choice'],
    [{ reasoning: { summary: 'auto' } }, 'reasoning.summary'],
    [{ include: ['something.new'] }, 'include.0'],
    [{ background: true }, 'background'],
  ])('refuses %j with unsupported_parameter naming %s', (b, param) => {
    expect(refusal(() => toChatBody(body(b)))).toEqual({ code: 'unsupported_parameter', param });
  });

  it('refuses a function_call item without call_id as invalid, naming the field', () => {
    expect(refusal(() => toChatBody(body({ input: [{ type: 'function_call', name: 'f', arguments: '{}' }] })))).toEqual(
      {
        code: 'invalid_request',
        param: 'input.0.call_id',
      },
    );
  });

  it('refuses store: true and previous_response_id, and lets store: false through', () => {
    expect(refusal(() => refuseStatefulFields(body({ store: true })))).toEqual({
      code: 'unsupported_parameter',
      param: 'store',
    });
    expect(refusal(() => refuseStatefulFields(body({ previous_response_id: 'resp_1' })))).toEqual({
      code: 'unsupported_parameter',
      param: 'previous_response_id',
    });
    expect(() => refuseStatefulFields(body({ store: false }))).not.toThrow();
  });
});

describe(responsesParam.name, () => {
  it.each([
    ['response_format', 'text.format'],
    ['max_tokens', 'max_output_tokens'],
    ['reasoning_effort', 'reasoning.effort'],
    ['messages.2.content.0', 'input'],
    ['tools', 'tools'],
  ])('names chat field %s as %s', (chat, responses) => {
    expect(responsesParam(chat)).toBe(responses);
  });
});
