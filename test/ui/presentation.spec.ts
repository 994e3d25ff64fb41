import { barChartSvg } from '../../ui/src/chart';
import { describeFailure } from '../../ui/src/errors';
import { formatInt, formatMs, tokensPerSecond } from '../../ui/src/format';

describe(barChartSvg.name, () => {
  it('draws one bar per row, largest first, with widths proportional to the values', () => {
    const svg = barChartSvg(
      [
        { label: 'small', value: 10 },
        { label: 'big', value: 40 },
      ],
      { id: 'c', title: 'Tokens', unit: 'tokens', width: 480 },
    );
    const widths = [...svg.matchAll(/<rect class="chart-bar"[^>]*width="(\d+)"/g)].map((m) => Number(m[1]));
    expect(widths).toEqual([200, 50]);
    expect(svg.indexOf('>big<')).toBeLessThan(svg.indexOf('>small<'));
    expect(svg).toContain('role="img"');
    expect(svg).toContain('<desc id="c-desc">big: 40 tokens; small: 10 tokens</desc>');
  });

  it('escapes labels (key labels are user input) and uses no inline style (CSP)', () => {
    const svg = barChartSvg([{ label: '<script>alert(1)</script>', value: 1 }], { id: 'c', title: 'a & b', unit: 'x' });
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;');
    expect(svg).toContain('<title id="c-title">a &amp; b</title>');
    expect(svg).not.toMatch(/style=/);
  });

  it('says so when there is no data', () => {
    expect(barChartSvg([], { id: 'c', title: 't', unit: 'x' })).toContain('No usage in this range');
  });
});

describe(describeFailure.name, () => {
  it('makes a 429 readable with its code and the Retry-After delay', () => {
    const v = describeFailure({
      status: 429,
      code: 'rate_limit_exceeded',
      message: 'rpm exceeded',
      retryAfter: '42',
      requestId: 'r1',
    });
    expect(v).toEqual({
      title: 'Rate limited',
      hint: 'Too many requests for this key: retry in 42 s.',
      code: 'rate_limit_exceeded',
      status: 429,
      message: 'rpm exceeded',
      requestId: 'r1',
    });
  });

  it('names quota exhaustion and an invalid request field', () => {
    expect(describeFailure({ status: 402, code: 'quota_exhausted', message: 'm' }).title).toBe('Quota exhausted');
    expect(describeFailure({ status: 400, code: 'invalid_request', message: 'm', param: 'temperature' }).hint).toBe(
      'Check the field "temperature".',
    );
  });

  it('keeps an unknown code as is, under a generic title', () => {
    expect(describeFailure({ status: 418, code: 'teapot', message: 'm' })).toMatchObject({
      title: 'Error 418',
      code: 'teapot',
    });
  });
});

describe('format', () => {
  it('formats durations, integers and decoding speed', () => {
    expect(formatMs(840.4)).toBe('840 ms');
    expect(formatMs(1234)).toBe('1.23 s');
    expect(formatMs(null)).toBe('—');
    expect(formatInt(1234567)).toBe('1,234,567');
    // 11 tokens: the first at 100 ms, the other 10 over the next 500 ms.
    expect(tokensPerSecond(11, 600, 100)).toBe('20.0 tok/s');
    expect(tokensPerSecond(0, 600, 100)).toBe('—');
  });
});
