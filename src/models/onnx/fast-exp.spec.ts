import { fastExp2NonPositive, fastExpNonPositive } from './fast-exp';

describe(fastExpNonPositive.name, () => {
  it('matches Math.exp to 1e-8 relative over the range sampling uses', () => {
    let worst = 0;
    for (let z = -40; z <= 0; z += 0.0137) worst = Math.max(worst, Math.abs(fastExpNonPositive(z) / Math.exp(z) - 1));
    expect(worst).toBeLessThan(1e-8);
    expect(fastExpNonPositive(0)).toBe(1);
  });

  it('underflows to 0 far below the maximum', () => {
    expect(fastExpNonPositive(-1000)).toBe(0);
  });
});

describe(fastExp2NonPositive.name, () => {
  it('matches 2^x to 1e-7 relative over the range sampling uses, 0 for masked entries', () => {
    let worst = 0;
    for (let x = -42; x <= 0; x += 0.00731) worst = Math.max(worst, Math.abs(fastExp2NonPositive(x) / 2 ** x - 1));
    expect(worst).toBeLessThan(1e-7);
    expect(fastExp2NonPositive(0)).toBe(1);
    expect([fastExp2NonPositive(-50), fastExp2NonPositive(-Infinity), fastExp2NonPositive(NaN)]).toEqual([0, 0, 0]);
  });
});
