import { StopMatcher } from './stop-matcher';

function feed(m: StopMatcher, pieces: string[]): { out: string; stopped: boolean } {
  let out = '';
  for (const p of pieces) {
    const r = m.push(p);
    out += r.text;
    if (r.stopped) return { out, stopped: true };
  }
  return { out: out + m.flush(), stopped: false };
}

describe(StopMatcher.name, () => {
  it('passes text through when there are no stop sequences', () => {
    expect(feed(new StopMatcher([]), ['a', 'b'])).toEqual({ out: 'ab', stopped: false });
  });

  it('finds a stop sequence spanning several pieces and drops it', () => {
    expect(feed(new StopMatcher(['END']), ['hello E', 'N', 'D and more'])).toEqual({ out: 'hello ', stopped: true });
  });

  it('holds back a possible stop prefix, then releases it when it diverges', () => {
    const m = new StopMatcher(['END']);
    expect(m.push('say E')).toEqual({ text: 'say ', stopped: false });
    expect(m.push('N')).toEqual({ text: '', stopped: false });
    expect(m.push('X')).toEqual({ text: 'ENX', stopped: false });
  });

  it('stops at the earliest of several stop sequences', () => {
    expect(feed(new StopMatcher(['zz', '\n\n']), ['a\n', '\nb zz'])).toEqual({ out: 'a', stopped: true });
  });

  it('returns held text on flush when generation ends without a stop', () => {
    const m = new StopMatcher(['###']);
    expect(m.push('x ##').text).toBe('x ');
    expect(m.flush()).toBe('##');
  });

  it('ignores empty stop strings', () => {
    expect(feed(new StopMatcher(['']), ['abc'])).toEqual({ out: 'abc', stopped: false });
  });
});
