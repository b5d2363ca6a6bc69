import {
  binomialUpperTail,
  fisherOneSided,
  logGamma,
} from '../../../functions/orchestrator/statistics';

/** C(n, k) by multiplication, exact for the small numbers these checks use. */
const choose = (n: number, k: number): number => {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return c;
};

describe('the tests gates decide by', () => {
  it.each([1, 2, 5, 10, 20, 50])('computes ln Γ(%i + 1) as ln %i!', (n) => {
    let factorial = 1;
    for (let i = 2; i <= n; i++) factorial *= i;
    expect(logGamma(n + 1)).toBeCloseTo(Math.log(factorial), 9);
  });

  it.each([
    [1, 20, 0.01],
    [3, 100, 0.01],
    [0, 10, 0.5],
    [10, 10, 0.3],
    [7, 40, 0.05],
  ])('gives P(X ≥ %i) for X ~ Binomial(%i, %f) as the sum of its terms', (k, n, p) => {
    let expected = 0;
    for (let i = k; i <= n; i++) expected += choose(n, i) * p ** i * (1 - p) ** (n - i);
    expect(binomialUpperTail(k, n, p)).toBeCloseTo(expected, 12);
  });

  it.each([
    [1, 20, 0, 200],
    [3, 10, 1, 10],
    [8, 100, 1, 100],
    [5, 30, 5, 30],
    [0, 50, 3, 50],
  ])(
    'gives the one-sided Fisher p-value of %i/%i against %i/%i as the hypergeometric tail',
    (a, n1, c, n2) => {
      const errors = a + c;
      let expected = 0;
      for (let x = a; x <= Math.min(errors, n1); x++) {
        expected += (choose(errors, x) * choose(n1 + n2 - errors, n1 - x)) / choose(n1 + n2, n1);
      }
      expect(fisherOneSided(a, n1, c, n2)).toBeCloseTo(a === 0 ? 1 : expected, 10);
    }
  );

  it('stays a probability on large counts (a million requests, thousands of errors)', () => {
    const p = fisherOneSided(9_000, 1_000_000, 8_000, 1_000_000);
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(1e-10);
    expect(binomialUpperTail(10_100, 1_000_000, 0.01)).toBeGreaterThan(0.1);
  });
});
