import { waitFor, WaitForTimeout } from './wait-for';

describe('waitFor', () => {
  it('returns the first value that passes, probing again until then', async () => {
    let n = 0;
    await expect(waitFor('n to reach 3', () => ++n, { until: (v) => v >= 3, intervalMs: 1 })).resolves.toBe(3);
    expect(n).toBe(3);
  });

  it('waits for a truthy value by default', async () => {
    const values = [undefined, 0, '', 'ready'];
    await expect(waitFor('a value', () => values.shift(), { intervalMs: 1 })).resolves.toBe('ready');
  });

  it('fails on timeout naming what it waited for and the last value', async () => {
    const err = await waitFor('the mode', () => ({ mode: 'local' }), {
      until: (v) => v.mode === 'redis',
      timeoutMs: 30,
      intervalMs: 5,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitForTimeout);
    expect((err as Error).message).toMatch(
      /^timed out after 30 ms waiting for the mode; last value: \{"mode":"local"\}$/,
    );
  });

  it('keeps probing through errors, and reports the last one on timeout', async () => {
    const err = await waitFor(
      'the server',
      () => {
        throw new Error('ECONNREFUSED');
      },
      { timeoutMs: 20, intervalMs: 5 },
    ).catch((e: unknown) => e);
    expect((err as Error).message).toContain('waiting for the server; last probe threw: ECONNREFUSED');
  });

  it('stops at once when abortIf says so, with the extra context', async () => {
    const err = await waitFor('the banner', () => false, {
      abortIf: () => 'the child exited (1)',
      describe: () => 'stderr: boom',
    }).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(WaitForTimeout);
    expect((err as Error).message).toBe('the child exited (1) before the banner\nstderr: boom');
  });
});
