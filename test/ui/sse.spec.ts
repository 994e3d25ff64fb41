import { SseParser } from '../../ui/src/sse';

describe(SseParser.name, () => {
  it('returns the data of each complete event, in order', () => {
    const p = new SseParser();
    expect(p.push('data: {"a":1}\n\ndata: [DONE]\n\n')).toEqual(['{"a":1}', '[DONE]']);
  });

  it('keeps an event split across chunks until its blank line arrives', () => {
    const p = new SseParser();
    expect(p.push('da')).toEqual([]);
    expect(p.push('ta: hel')).toEqual([]);
    expect(p.push('lo\n')).toEqual([]);
    expect(p.push('\n')).toEqual(['hello']);
  });

  it('handles \\r\\n split between chunks, lone \\r line ends, comments and multi-line data', () => {
    const p = new SseParser();
    expect(p.push(': keep-alive\r')).toEqual([]);
    expect(p.push('\ndata: one\r')).toEqual([]);
    // The last \r could still be half of a \r\n: the event completes with the next chunk.
    expect(p.push('\ndata: two\r\r')).toEqual([]);
    expect(p.push('event: x\rdata:no-space\r\r')).toEqual(['one\ntwo']);
    expect(p.push('\n')).toEqual(['no-space']);
  });

  it('ignores blank lines that end no event and fields other than data', () => {
    const p = new SseParser();
    expect(p.push('\n\nid: 7\nretry: 100\n\n')).toEqual([]);
  });
});
