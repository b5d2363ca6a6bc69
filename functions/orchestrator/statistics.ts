/**
 * The tests gates decide by. Exact where it matters (few requests): a gate must neither pass
 * a bad release nor fail a good one on a handful of requests.
 */

const LANCZOS = [
  676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7: about 15 significant digits). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = 0.99999999999980993;
  for (let i = 0; i < LANCZOS.length; i++) a += (LANCZOS[i] as number) / (z + i + 1);
  const t = z + LANCZOS.length - 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** ln C(n, k). */
const logChoose = (n: number, k: number): number =>
  logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);

/** Adds terms (in log space) from `first` while they matter; `term(i)` is ln of the i-th. */
function tailSum(first: number, last: number, term: (i: number) => number): number {
  let sum = 0;
  let peak = Number.NEGATIVE_INFINITY;
  for (let i = first; i <= last; i++) {
    const t = term(i);
    if (t > peak) peak = t;
    sum += Math.exp(t);
    // Past the mode the terms only shrink: stop once they no longer change the sum.
    if (t < peak && Math.exp(t) < sum * 1e-16) break;
  }
  return Math.min(1, sum);
}

/**
 * P(X ≥ k) for X ~ Binomial(n, p): how likely `k` or more errors in `n` requests are if the
 * true error rate were `p`. Small means the rate is very likely above `p`.
 */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  return tailSum(k, n, (i) => logChoose(n, i) + i * lp + (n - i) * lq);
}

/**
 * One-sided Fisher exact test: the probability, were both releases equally good, of the
 * candidate showing `candidateErrors` or more of all the errors seen, given the requests each
 * served. Small means the candidate very likely errors more than the stable release.
 */
export function fisherOneSided(
  candidateErrors: number,
  candidateRequests: number,
  stableErrors: number,
  stableRequests: number
): number {
  const errors = candidateErrors + stableErrors;
  const total = candidateRequests + stableRequests;
  if (errors === 0 || candidateErrors === 0) return 1;
  const denominator = logChoose(total, candidateRequests);
  const last = Math.min(errors, candidateRequests);
  return tailSum(
    candidateErrors,
    last,
    (x) => logChoose(errors, x) + logChoose(total - errors, candidateRequests - x) - denominator
  );
}
