import { asciiRow, toRow, uuidV7 } from './inference-log.row';

describe(uuidV7.name, () => {
  it('does make RFC 9562 version 7 ids that sort by time', () => {
    const a = uuidV7(Date.parse('2025-01-01T00:00:00Z'));
    const b = uuidV7(Date.parse('2025-01-01T00:00:00.001Z'));
    for (const id of [a, b])
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
    expect(a.slice(0, 13)).toBe('01941f29-7c00');
    expect(uuidV7(0)).not.toBe(uuidV7(0));
  });
});

describe(toRow.name, () => {
  it('does keep good values and default the timestamp to now', () => {
    const now = new Date('2025-06-01T12:00:00Z');
    const r = toRow(
      {
        requestId: 'r1',
        keyId: '0b3c6b8e-9f3e-4c8e-8a52-6d1f3c2b1a00',
        model: 'tiny',
        provider: 'onnx',
        endpoint: '/v1/generate',
        promptTokens: 3,
        completionTokens: 4,
        cached: false,
        status: 200,
        latencyMs: 1.25,
        timeToFirstTokenMs: 0.5,
      },
      now,
    );
    expect(r).toMatchObject({
      createdAt: now,
      keyId: '0b3c6b8e-9f3e-4c8e-8a52-6d1f3c2b1a00',
      promptTokens: 3,
      completionTokens: 4,
      estimatedTokens: false,
      errorCode: null,
      finishReason: null,
      latencyMs: 1.25,
      ttftMs: 0.5,
      status: 200,
    });
  });
});

describe('text that PostgreSQL would refuse', () => {
  const entry = {
    requestId: 'r\u00001',
    keyId: null,
    model: 'ti\u0000ny',
    provider: null,
    endpoint: '/v1/generate',
    promptTokens: 0,
    completionTokens: 0,
    cached: false,
    status: 400,
    errorCode: 'invalid\u0000',
    latencyMs: 1,
  };

  it('does replace NUL bytes instead of dropping the row', () => {
    const r = toRow(entry);
    for (const v of [r.requestId, r.model, r.errorCode]) expect(v).not.toContain('\u0000');
    expect(r.model).toBe('ti\uFFFDny');
  });

  it('does not cut a surrogate pair in half when truncating', () => {
    const r = toRow({ ...entry, model: 'a' + '\u{1F600}'.repeat(150) });
    expect(r.model.length).toBeLessThanOrEqual(200);
    expect(r.model).not.toMatch(/[\uD800-\uDBFF]$/);
  });

  it('does reduce every text to printable ASCII as the last resort', () => {
    const r = asciiRow({ ...toRow(entry), model: 'm\u00e9\uD800x' });
    expect(r.model).toBe('m\\u00e9\\ud800x');
    expect(r.requestId).toMatch(/^[\x20-\x7e]*$/);
  });
});
