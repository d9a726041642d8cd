// exp of four f32 lanes for log_softmax and lstm_cell: Cephes' expf (range reduction by ln 2 split in two,
// degree-5 polynomial), ≤ 2 ulp. Callers pass the constants in as values built from a run-time zero or held
// in mutable globals: as v128.const operands V8 rebuilds each one at every use inside a loop (≈ 3
// instructions each, a dozen per call).

import { madd, nmadd } from "./madd";

// @ts-ignore: decorator
@inline export const LOG2E: f32 = 1.44269504088896341;
// 1.5 · 2^23: added to x · log2 e it rounds to an integer n held in the low mantissa bits.
// @ts-ignore: decorator
@inline export const ROUND: f32 = 12582912;
// ln 2 split in two (Cody–Waite): n · LN2_HI is exact for |n| < 2^9.
// @ts-ignore: decorator
@inline export const LN2_HI: f32 = 0.693359375;
// @ts-ignore: decorator
@inline export const LN2_LO: f32 = -2.12194440e-4;
// Below this exp leaves f32's normal range: the smallest argument a caller may let through (e^x ≈ 1.2e-38).
// @ts-ignore: decorator
@inline export const EXP_MIN: f32 = -87.33654;
// bits(t) = 0x4B400000 + n for t = x · log2 e + ROUND; + EXP_BIAS makes n + 127, the exponent of 2^n.
// @ts-ignore: decorator
@inline export const EXP_BIAS: i32 = 127 - 0x4b400000;
// @ts-ignore: decorator
@inline export const C0: f32 = 1.9875691500e-4;
// @ts-ignore: decorator
@inline export const C1: f32 = 1.3981999507e-3;
// @ts-ignore: decorator
@inline export const C2: f32 = 8.3334519073e-3;
// @ts-ignore: decorator
@inline export const C3: f32 = 4.1665795894e-2;
// @ts-ignore: decorator
@inline export const C4: f32 = 1.6666665459e-1;
// @ts-ignore: decorator
@inline export const C5: f32 = 5.0000001201e-1;


/**
 * e^v of four lanes, v clamped below at `min` (EXP_MIN); the caller keeps v ≤ 88 (n ≤ 127), so 2^n is a
 * normal power of two. NaN stays NaN (pmax keeps a NaN first operand; a NaN lane gives 2^n · NaN).
 */
// @ts-ignore: decorator
@inline export function exp4(
  v: v128, min: v128, log2e: v128, round: v128, ln2Hi: v128, ln2Lo: v128,
  c0: v128, c1: v128, c2: v128, c3: v128, c4: v128, c5: v128, one: v128, bias: v128,
): v128 {
  const x = f32x4.pmax(v, min); // v < min ? min : v — one instruction (max's NaN rules take eight)
  const t = madd(x, log2e, round);
  const fn = f32x4.sub(t, round);
  const r = nmadd(fn, ln2Lo, nmadd(fn, ln2Hi, x));
  let p = madd(c0, r, c1);
  p = madd(p, r, c2);
  p = madd(p, r, c3);
  p = madd(p, r, c4);
  p = madd(p, r, c5);
  const e = f32x4.add(madd(p, f32x4.mul(r, r), r), one);
  return f32x4.mul(e, i32x4.shl(i32x4.add(t, bias), 23)); // × 2^n
}
