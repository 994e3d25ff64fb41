import { FakeOpenAIUpstream } from '../helpers/fake-openai-upstream';
import { tinyModelDir, writeModelsYaml } from '../helpers/model-fixtures';
import { call, startTestApp, type TestApp } from '../helpers/test-app';

/** What /v1/responses refuses, with which code and `param`, before anything reaches a model. */
describe('POST /v1/responses refusals', () => {
  let t: TestApp;
  let upstream: FakeOpenAIUpstream;
  beforeAll(async () => {
    upstream = await FakeOpenAIUpstream.start();
    const modelDir = await tinyModelDir();
    const yaml = writeModelsYaml(
      `default_model: tiny\nmodels:\n  - id: tiny\n    provider: onnx\n    path: ${modelDir}\n` +
        `  - id: remote\n    provider: http\n    base_url: ${upstream.baseUrl}\n`,
    );
    t = await startTestApp({ MODELS_CONFIG: yaml });
  });
  afterAll(async () => {
    await t.close();
    await upstream.stop();
  });

  it.each([
    ['no input', { model: 'tiny' }, 400, 'invalid_request', 'input'],
    ['a bad role', { model: 'tiny', input: [{ role: 'robot', content: 'x' }] }, 400, 'invalid_request', 'input.0.role'],
    [
      'a bad max_output_tokens',
      { model: 'tiny', input: 'x', max_output_tokens: 0 },
      400,
      'invalid_request',
      'max_output_tokens',
    ],
    [
      'a json_schema without a name',
      { model: 'tiny', input: 'x', text: { format: { type: 'json_schema', schema: {} } } },
      400,
      'invalid_request',
      'text.format.name',
    ],
    ['store: true', { model: 'tiny', input: 'x', store: true }, 400, 'unsupported_parameter', 'store'],
    [
      'previous_response_id',
      { model: 'tiny', input: 'x', previous_response_id: 'resp_1' },
      400,
      'unsupported_parameter',
      'previous_response_id',
    ],
    [
      'an item_reference',
      { model: 'tiny', input: [{ type: 'item_reference', id: 'msg_1' }] },
      400,
      'unsupported_parameter',
      'input.0',
    ],
    [
      'a hosted tool',
      { model: 'remote', input: 'x', tools: [{ type: 'web_search' }] },
      400,
      'unsupported_parameter',
      'tools.0.type',
    ],
    [
      'an unknown field',
      { model: 'remote', input: 'x', conversation: 'conv_1' },
      400,
      'unsupported_parameter',
      'conversation',
    ],
    [
      'reasoning effort on the local model',
      { model: 'tiny', input: 'x', reasoning: { effort: 'low' } },
      400,
      'unsupported_parameter',
      'reasoning.effort',
    ],
    [
      'verbosity on the local model',
      { model: 'tiny', input: 'x', text: { verbosity: 'low' } },
      400,
      'unsupported_parameter',
      'text.verbosity',
    ],
    ['an unknown model', { model: 'nope', input: 'x' }, 404, 'model_not_found', 'model'],
  ])('refuses %s with its code and param', async (what, body, status, code, param) => {
    const before = upstream.requests.length;
    const r = await call(t.baseUrl, 'POST', '/v1/responses', { key: t.adminKey, body });
    expect(r.status).toBe(status);
    expect(r.body.error).toMatchObject({ code, param });
    expect(upstream.requests.length).toBe(before);
    // A refusal names the Responses field, in the message too (never the chat field it became).
    expect(r.body.error.message).not.toMatch(/"(reasoning_effort|verbosity|response_format|max_tokens)"/);
    if (what.endsWith('on the local model')) expect(r.body.error.message).toContain(`"${param}"`);
  });
});
