/**
 * Reference (for the tests) in-place log-softmax — same semantics as `log_softmax` in
 * as/log_softmax.ts, computed in f64.
 * @module
 */

/**
 * x[i] ← x[i] − lse over x[0..n), lse = log Σ exp(x) computed as max + log Σ exp(x − max); returns lse as
 * an f32. n ≤ 0 returns −∞; a NaN, or all −∞, makes every output NaN.
 *
 * @example
 * ```ts
 * const x = new Float32Array([0, 0]);
 * logSoftmax(x, 2); // returns Math.fround(Math.LN2); x = [−ln 2, −ln 2]
 * ```
 */
export function logSoftmax(x: Float32Array, n: number): number {
  if (n <= 0) return -Infinity;
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, x[i]);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(x[i] - m);
  const lse = m + Math.log(sum);
  for (let i = 0; i < n; i++) x[i] -= lse;
  return Math.fround(lse);
}
