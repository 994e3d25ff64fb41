/**
 * A Llama 3.1-style chat template that renders tools, for the Llama 3.1 fixture model: the
 * packaged tokenizer_config.json carries a reduced template without them. Written for these
 * tests in the family's format: header tokens, tools offered as JSON in the system turn, a call
 * written as `{"name": ..., "parameters": {...}}` (the llama3_json parser), tool results in an
 * `ipython` turn.
 */
export const LLAMA3_1_TOOL_TEMPLATE = [
  '{{- bos_token }}',
  '{%- if tools %}',
  '<|start_header_id|>system<|end_header_id|>\n\n',
  'Answer a function call as JSON: {"name": function name, "parameters": its arguments}. Functions:',
  '{%- for t in tools %}\n{{ t | tojson }}{%- endfor %}<|eot_id|>',
  '{%- endif %}',
  '{%- for m in messages %}',
  "{%- if m.role == 'assistant' and m.tool_calls %}",
  '<|start_header_id|>assistant<|end_header_id|>\n\n',
  '{%- for c in m.tool_calls %}',
  '{"name": "{{ c.function.name }}", "parameters": {{ c.function.arguments | tojson }}}',
  '{%- if not loop.last %}; {% endif %}',
  '{%- endfor %}<|eot_id|>',
  "{%- elif m.role == 'tool' %}",
  '<|start_header_id|>ipython<|end_header_id|>\n\n{{ m.content }}<|eot_id|>',
  '{%- else %}',
  '<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n{{ m.content | trim }}<|eot_id|>',
  '{%- endif %}',
  '{%- endfor %}',
  '{%- if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{%- endif %}',
].join('');
