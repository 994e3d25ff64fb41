import { periodAt } from './quota-period';

describe(periodAt.name, () => {
  const iso = (p: { start: Date; end: Date }) => [p.start.toISOString(), p.end.toISOString()];

  it('does months from the 1st at 00:00 UTC, across a year end', () => {
    expect(iso(periodAt('monthly', new Date('2025-12-31T23:59:59.999Z')))).toEqual([
      '2025-12-01T00:00:00.000Z',
      '2026-01-01T00:00:00.000Z',
    ]);
    expect(iso(periodAt('monthly', new Date('2026-01-01T00:00:00.000Z')))).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-02-01T00:00:00.000Z',
    ]);
  });

  it('does weeks from Monday, including when the day is a Sunday or a Monday', () => {
    expect(iso(periodAt('weekly', new Date('2025-11-30T12:00:00Z')))).toEqual([
      '2025-11-24T00:00:00.000Z',
      '2025-12-01T00:00:00.000Z',
    ]);
    expect(iso(periodAt('weekly', new Date('2025-12-01T00:00:00Z')))).toEqual([
      '2025-12-01T00:00:00.000Z',
      '2025-12-08T00:00:00.000Z',
    ]);
  });

  it('does days, with a leap day', () => {
    expect(iso(periodAt('daily', new Date('2028-02-29T15:00:00Z')))).toEqual([
      '2028-02-29T00:00:00.000Z',
      '2028-03-01T00:00:00.000Z',
    ]);
  });
});
