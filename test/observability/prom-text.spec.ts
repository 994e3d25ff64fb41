import { parsePrometheusText, valueOf } from './helpers/prom-text';

const ok = `# HELP llm_x_total Things.
# TYPE llm_x_total counter
llm_x_total{a="1",b="q\\"uote"} 3
# TYPE llm_h_seconds histogram
llm_h_seconds_bucket{le="0.1"} 1
llm_h_seconds_bucket{le="+Inf"} 2
llm_h_seconds_sum 0.3
llm_h_seconds_count 2
`;

describe(parsePrometheusText.name, () => {
  it('does parse families, labels with escapes and histogram samples', () => {
    const f = parsePrometheusText(ok);
    expect(f.get('llm_x_total')).toMatchObject({ type: 'counter', help: 'Things.' });
    expect(valueOf(f, 'llm_x_total', { b: 'q"uote' })).toBe(3);
    expect(valueOf(f, 'llm_h_seconds_count')).toBe(2);
  });

  it.each([
    ['an unterminated label value', 'llm_a_total{a="1} 1'],
    ['a bad value', '# TYPE llm_a gauge\nllm_a one'],
    ['a duplicate series', 'llm_a 1\nllm_a 2'],
    ['a counter without _total', '# TYPE llm_a counter\nllm_a 1'],
    ['a gauge ending in _total', '# TYPE llm_a_total gauge\nllm_a_total 1'],
    ['a histogram without +Inf', '# TYPE llm_h histogram\nllm_h_bucket{le="1"} 1\nllm_h_count 1'],
    ['decreasing buckets', '# TYPE llm_h histogram\nllm_h_bucket{le="1"} 2\nllm_h_bucket{le="+Inf"} 1\nllm_h_count 1'],
    ['_count differing from +Inf', '# TYPE llm_h histogram\nllm_h_bucket{le="+Inf"} 2\nllm_h_count 1'],
    ['a family split in two', '# TYPE llm_a gauge\nllm_a{x="1"} 1\n# TYPE llm_b gauge\nllm_b 1\nllm_a{x="2"} 1'],
  ])('does refuse %s', (_, text) => {
    expect(() => parsePrometheusText(text)).toThrow();
  });
});
