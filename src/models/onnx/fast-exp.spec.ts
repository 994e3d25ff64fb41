import { fastExpNonPositive } from './fast-exp';

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
