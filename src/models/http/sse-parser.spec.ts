import { SseParser, type SseEvent } from './sse-parser';

/** Feeds `input` split at every given offset and returns all events, `end()` included. */
function parseSplit(input: string | Uint8Array, cuts: number[]): SseEvent[] {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  const p = new SseParser();
  const out: SseEvent[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(...p.push(bytes.subarray(from, cut)));
    from = cut;
  }
  return [...out, ...p.end()];
}

describe(SseParser.name, () => {
  const stream = 'data: {"a":1}\n\n: keep-alive\n\nevent: error\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n';
  const expected: SseEvent[] = [
    { event: 'message', data: '{"a":1}', id: undefined },
    { event: 'error', data: 'line1\nline2', id: undefined },
    { event: 'message', data: '[DONE]', id: undefined },
  ];

  it('parses events, skips comments and joins multi-line data', () => {
    expect(parseSplit(stream, [])).toEqual(expected);
  });

  it('gives the same events however the input is split', () => {
    for (let cut = 1; cut < stream.length; cut++) expect(parseSplit(stream, [cut])).toEqual(expected);
    expect(
      parseSplit(
        stream,
        Array.from({ length: stream.length - 1 }, (_, i) => i + 1),
      ),
    ).toEqual(expected);
  });

  it('accepts \\r\\n and lone \\r line ends, even with \\r\\n split across chunks', () => {
    const crlf = stream.replace(/\n/g, '\r\n');
    for (let cut = 1; cut < crlf.length; cut++) expect(parseSplit(crlf, [cut])).toEqual(expected);
    expect(parseSplit(stream.replace(/\n/g, '\r'), [5])).toEqual(expected);
  });

  it('keeps multi-byte UTF-8 characters split between chunks intact', () => {
    const bytes = new TextEncoder().encode('data: héllo 👋\n\n');
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(parseSplit(bytes, [cut])).toEqual([{ event: 'message', data: 'héllo 👋', id: undefined }]);
    }
  });

  it('strips exactly one space after the colon and keeps ids', () => {
    expect(parseSplit('id: 7\ndata:  two spaces\ndata:none\n\n', [])).toEqual([
      { event: 'message', data: ' two spaces\nnone', id: '7' },
    ]);
  });

  it('dispatches a final event whose blank line never came, but not an event without data', () => {
    expect(parseSplit('data: [DONE]\n', [])).toEqual([{ event: 'message', data: '[DONE]', id: undefined }]);
    expect(parseSplit('event: ping\n\n', [])).toEqual([]);
  });
});
