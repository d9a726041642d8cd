// In-place log-softmax over x: (n) f32.  x[i] ← x[i] − lse,  lse = log Σ_j exp(x[j]) = m + log Σ_j exp(x[j] − m)
// with m = max x (so no exp overflows). Returns lse (the log of the softmax normalizer).
// Four lanes at a time: exp is Cephes' expf polynomial (exp4.ts, ≤ 2 ulp), the sum is accumulated in f64
// (10 000 terms in f32 would lose ~3 digits) and x − lse is taken with lse split into two floats, so lse
// is within ≈ 3e-7 relative of the exact value and each output within about 1 ulp of x[i] − lse.
// n ≤ 0 returns −∞ and touches nothing. A NaN anywhere, or all −∞, makes every output NaN (as in PyTorch).

import { C0, C1, C2, C3, C4, C5, EXP_BIAS, EXP_MIN, exp4, LN2_HI, LN2_LO, LOG2E, ROUND } from "./exp4";
import { keptF32x4, keptI32x4, opaqueZero } from "./loop_constant";

// Arguments x − m ≤ 0 are clamped at EXP_MIN (exp ≈ 1.2e-38, not 0: against the max's term, exp(0) = 1,
// no sum of n ≤ 2^31 such terms shows in f64's 53 bits).

/**
 * Natural log of a finite s ≥ 1: s = 2^e · m with m ∈ [√½, √2), log m = 2 atanh((m − 1)/(m + 1)) by its
 * series to t^15 (|t| ≤ 0.172: truncation < 2e-14), e · ln 2 in f64.
 */
// @ts-ignore: decorator
@inline function logAtLeast1(s: f64): f64 {
  const bits = reinterpret<u64>(s);
  let e = <i32>(bits >> 52) - 1023;
  let m = reinterpret<f64>((bits & 0x000fffffffffffff) | 0x3ff0000000000000); // [1, 2)
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e++;
  }
  const t = (m - 1) / (m + 1);
  const z = t * t;
  const series = t * (2 + z * (2.0 / 3 + z * (2.0 / 5 + z * (2.0 / 7 + z * (2.0 / 9 + z * (2.0 / 11 +
    z * (2.0 / 13 + z * (2.0 / 15))))))));
  return <f64>e * 0.6931471805599453 + series;
}

export function log_softmax(x: usize, n: i32): f32 {
  if (n <= 0) return -Infinity;
  // m = max over x, NaN if any x is (pmax is one instruction but drops NaN: the lanes where x ≠ x are
  // collected apart; f32.max propagates NaN).
  let mv = f32x4.splat(-Infinity);
  let nan = i32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    mv = f32x4.pmax(mv, v);
    nan = v128.or(nan, f32x4.ne(v, v));
  }
  let m = max(
    max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)),
    max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)),
  );
  if (v128.any_true(nan)) m = NaN;
  for (; i < n; i++) m = max(m, load<f32>(x + (<usize>i << 2)));

  // Σ exp(x − m) in two f64x2 accumulators (x − m is NaN where m = ±∞ meets ±∞: the sum becomes NaN).
  const mm = f32x4.splat(m);
  const z = opaqueZero(n); // the constants below stay in registers (loop_constant.ts)
  const min = keptF32x4(EXP_MIN, z);
  const log2e = keptF32x4(LOG2E, z);
  const round = keptF32x4(ROUND, z);
  const ln2Hi = keptF32x4(LN2_HI, z);
  const ln2Lo = keptF32x4(LN2_LO, z);
  const c0 = keptF32x4(C0, z);
  const c1 = keptF32x4(C1, z);
  const c2 = keptF32x4(C2, z);
  const c3 = keptF32x4(C3, z);
  const c4 = keptF32x4(C4, z);
  const c5 = keptF32x4(C5, z);
  const one = keptF32x4(1, z);
  const bias = keptI32x4(EXP_BIAS, z);
  let s0 = f64x2.splat(0);
  let s1 = s0;
  i = 0;
  for (; i + 8 <= n; i += 8) {
    // Two vectors per iteration: their exp polynomials overlap.
    const p = x + (<usize>i << 2);
    const e = exp4(f32x4.sub(v128.load(p), mm), min, log2e, round, ln2Hi, ln2Lo, c0, c1, c2, c3, c4, c5, one, bias);
    const f = exp4(f32x4.sub(v128.load(p, 16), mm), min, log2e, round, ln2Hi, ln2Lo, c0, c1, c2, c3, c4, c5, one, bias);
    // e + f in f32 first (each pair rounded once, ≤ 2^-24 relative: below exp4's own error), then widened.
    const ef = f32x4.add(e, f);
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(ef));
    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(i64x2.shuffle(ef, ef, 1, 1)));
  }
  for (; i + 4 <= n; i += 4) {
    const e = exp4(f32x4.sub(v128.load(x + (<usize>i << 2)), mm), min, log2e, round, ln2Hi, ln2Lo, c0, c1, c2, c3, c4, c5, one, bias);
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(e));
    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(i64x2.shuffle(e, e, 1, 1)));
  }
  s0 = f64x2.add(s0, s1);
  let sum = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1);
  for (; i < n; i++) {
    const e = exp4(f32x4.splat(load<f32>(x + (<usize>i << 2)) - m), min, log2e, round, ln2Hi, ln2Lo, c0, c1, c2, c3, c4, c5, one, bias);
    sum += <f64>f32x4.extract_lane(e, 0);
  }
  // log in f64 without a table (the relaxed module may hold no data): sum ≥ 1 (the max's term is e^0 = 1)
  // unless it is NaN, which the comparison sends to NaN.
  const lse = sum >= 1 ? <f64>m + logAtLeast1(sum) : NaN;

  // x − lse with lse as two floats, hi + lo (lo = the f64 remainder, |lo| ≤ ulp(hi) / 2): (x − hi) − lo
  // rounds twice, so each output is within about 1 ulp of the exact difference, at 2 f32 ops per 4.
  const hi = <f32>lse;
  const lo = <f32>(lse - <f64>hi);
  const hv = f32x4.splat(hi);
  const lv = f32x4.splat(lo);
  for (i = 0; i + 4 <= n; i += 4) {
    const p = x + (<usize>i << 2);
    v128.store(p, f32x4.sub(f32x4.sub(v128.load(p), hv), lv));
  }
  for (; i < n; i++) {
    const p = x + (<usize>i << 2);
    store<f32>(p, (load<f32>(p) - hi) - lo);
  }
  return hi;
}
