// In-place log-softmax over x: (n) f32.  x[i] ← x[i] − lse,  lse = log Σ_j exp(x[j]) = m + log Σ_j exp(x[j] − m)
// with m = max x (so no exp overflows). Returns lse (the log of the softmax normalizer).
// The sum is accumulated in f64 (10 000 terms in f32 would lose ~3 digits); exp is Mathf.exp (< 1 ulp).
// n ≤ 0 returns −∞ and touches nothing. A NaN anywhere, or all −∞, makes every output NaN (as in PyTorch).

export function log_softmax(x: usize, n: i32): f32 {
  if (n <= 0) return -Infinity;
  // m = max over x; f32x4.max / f32.max propagate NaN.
  let mv = f32x4.splat(-Infinity);
  let i = 0;
  for (; i + 4 <= n; i += 4) mv = f32x4.max(mv, v128.load(x + (<usize>i << 2)));
  let m = max(
    max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)),
    max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)),
  );
  for (; i < n; i++) m = max(m, load<f32>(x + (<usize>i << 2)));

  let sum: f64 = 0;
  for (i = 0; i < n; i++) sum += <f64>Mathf.exp(load<f32>(x + (<usize>i << 2)) - m);
  // log in f64 without pulling in Math.log's 4 KB table: log(s) = log(f32(s)) + log(s / f32(s)) and the
  // second term is (s − f32(s)) / f32(s) to within 2^-48.
  const sf = <f32>sum;
  const lse = <f64>m + (<f64>Mathf.log(sf) + (sum - <f64>sf) / <f64>sf);

  for (i = 0; i < n; i++) {
    const p = x + (<usize>i << 2);
    store<f32>(p, <f32>(<f64>load<f32>(p) - lse));
  }
  return <f32>lse;
}
