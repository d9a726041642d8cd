// IEEE binary16 ("half") → f32 conversion used by every f16 kernel. Not exported from the module.
//
// The method: sign-extend the 16-bit pattern to 32 bits and shift it left by 13. The half's exponent and
// mantissa then sit exactly where an f32's do (bits 27..13), its sign is in bit 31, and bits 30..28 hold
// copies of the sign, which the mask 0x8FFFFFFF clears. Read as an f32 that is the half's value times
// 2^-112 (the exponent biases differ by 127 − 15 = 112), so one multiplication by 2^112 finishes the job —
// exactly, for zeros, subnormals and normals alike (a half subnormal becomes an f32 subnormal first).
// Only Inf/NaN (exponent 31) come out wrong (finite, ≥ 65536) and need the exponent forced to 255.
//
// Worked example: 0xC000 (−2) → sign-extended 0xFFFFC000 → << 13 = 0xF8000000 → & 0x8FFFFFFF = 0x88000000
// = −2^-111 → × 2^112 = −2.
// The SIMD form builds the same 32-bit patterns from two 16-bit parts (`f16x8Parts`) and interleaves them.
// Inf/NaN: exact conversions fix them per lane (`fixSpecial`); gathers and the exact products use them.
// The fast matvec/matmat path (prepared x, below) handles no Inf/NaN weights: `f16_finite` tells, once
// per matrix, whether it may be used.

import { keptI32x4 } from "./loop_constant";

// @ts-ignore: decorator
@inline export const F16_MASK: i32 = 0x8fffffff;
// @ts-ignore: decorator
@inline export const F16_SCALE: f32 = 5.192296858534828e33; // 2^112

/** Exact conversion of the half in the low 16 bits of `h` (upper bits ignored), Inf/NaN included. */
// @ts-ignore: decorator
@inline export function f16ToF32(h: u32): f32 {
  const bits = ((<i32>(h << 16)) >> 3) & F16_MASK;
  let f = reinterpret<f32>(bits) * F16_SCALE;
  if ((h & 0x7c00) == 0x7c00) f = reinterpret<f32>(reinterpret<u32>(f) | 0x7f800000);
  return f;
}

/** Forces the f32 exponent to 255 in the lanes whose half (sign-extended in `ext`) was Inf/NaN. */
// @ts-ignore: decorator
@inline export function fixSpecial(f: v128, ext: v128): v128 {
  const special = i32x4.eq(v128.and(ext, i32x4.splat(0x7c00)), i32x4.splat(0x7c00));
  return v128.or(f, v128.and(special, i32x4.splat(0x7f800000)));
}

/**
 * The f32 bit patterns (before the 2^112 scale) of 8 packed halves, as two 16-bit halves per lane:
 * high 16 bits = sign | (h & 0x7FFF) >> 3, low 16 bits = h << 13. `f16x8Low` / `f16x8High` interleave them.
 * (Cheaper than sign-extending each half to 32 bits and shifting: 3 ops for 8 halves instead of 6.)
 */
// @ts-ignore: decorator
@inline export function f16x8Parts(raw: v128, hi: bool): v128 {
  return hi ? v128.and(i16x8.shr_s(raw, 3), i16x8.splat(<i16>0x8fff)) : i16x8.shl(raw, 13);
}

/** Lanes 0..3 of 8 packed halves → f32x4; exact when `exact`, otherwise exact except Inf/NaN. */
// @ts-ignore: decorator
@inline export function f16x8Low(raw: v128, exact: bool): v128 {
  const bits = i16x8.shuffle(f16x8Parts(raw, false), f16x8Parts(raw, true), 0, 8, 1, 9, 2, 10, 3, 11);
  const f = f32x4.mul(bits, f32x4.splat(F16_SCALE));
  return exact ? fixSpecial(f, i32x4.extend_low_i16x8_s(raw)) : f;
}

/** Lanes 4..7 of 8 packed halves → f32x4; exact when `exact`, otherwise exact except Inf/NaN. */
// @ts-ignore: decorator
@inline export function f16x8High(raw: v128, exact: bool): v128 {
  const bits = i16x8.shuffle(f16x8Parts(raw, false), f16x8Parts(raw, true), 4, 12, 5, 13, 6, 14, 7, 15);
  const f = f32x4.mul(bits, f32x4.splat(F16_SCALE));
  return exact ? fixSpecial(f, i32x4.extend_high_i16x8_s(raw)) : f;
}

/**
 * Folds 8 packed halves into a running u16 maximum of their magnitudes: a maximum ≥ 0x7C00 afterwards means
 * an Inf/NaN was seen, so a result computed with the non-exact conversion must be recomputed exactly.
 */
// @ts-ignore: decorator
@inline export function trackMagnitude(max: v128, raw: v128): v128 {
  return i16x8.max_u(max, v128.and(raw, i16x8.splat(0x7fff)));
}

/** True when a `trackMagnitude` maximum saw an Inf/NaN half. */
// @ts-ignore: decorator
@inline export function sawSpecial(max: v128): bool {
  return v128.any_true(i16x8.ge_u(max, i16x8.splat(0x7c00)));
}

// The prepared-x form (matvec/matmat with scratch): the 2^112 scale moves from every weight to x, which is
// copied once per call as x · 2^112 with its even and odd columns of each 8 split into two f32x4
// (`prepareF16X`). A vector of 8 halves is then read as i32x4 lanes holding (h[2j], h[2j+1]): the even halves
// become f32 patterns by shl 16, shr_s 3, and (3 ops), the odd ones by shr_s 3, and (2 ops; the low bits
// the mask clears held the neighbour's high bits) — 5 ops and no shuffles for 8 weights, against 7 plus two
// scale multiplies. Exact for every finite half as long as x · 2^112 does not overflow (|x| < 2^15 is
// required), and the products are the same f32 products as w · x. Inf/NaN weights are not handled: the
// caller checks the matrix once (`f16_finite`) and uses the exact path for one that has them.

// The two masks are made once per product, before its loop, by f16EvenMask/f16OddMask (loop_constant.ts:
// as constants in the loop V8 would rebuild them at each of their 8 uses per 8 columns of 4 rows).

/** The mask f16Even takes; `zero` from opaqueZero (loop_constant.ts). */
// @ts-ignore: decorator
@inline export function f16EvenMask(zero: i32): v128 {
  return keptI32x4(F16_MASK, zero);
}

/** The mask f16Odd takes; `zero` from opaqueZero (loop_constant.ts). */
// @ts-ignore: decorator
@inline export function f16OddMask(zero: i32): v128 {
  return keptI32x4(<i32>0x8fffe000, zero);
}

/** f32 patterns (× 2^-112) of the even halves 0, 2, 4, 6 of 8 packed halves; `mask` from f16EvenMask. */
// @ts-ignore: decorator
@inline export function f16Even(raw: v128, mask: v128): v128 {
  return v128.and(i32x4.shr_s(i32x4.shl(raw, 16), 3), mask);
}

/** f32 patterns (× 2^-112) of the odd halves 1, 3, 5, 7 of 8 packed halves; `mask` from f16OddMask. */
// @ts-ignore: decorator
@inline export function f16Odd(raw: v128, mask: v128): v128 {
  return v128.and(i32x4.shr_s(raw, 3), mask);
}

/** Largest |x| below which x · 2^112 stays finite with room for the products' rounding. */
// @ts-ignore: decorator
@inline const PREPARED_X_LIMIT: f32 = 32768;

/**
 * Writes x (n f32) as the prepared form at xs: for each whole block of 8 columns, [x0, x2, x4, x6] · 2^112
 * then [x1, x3, x5, x7] · 2^112 (8 floats); the last n % 8 columns are not written (callers run them
 * exactly from x). Returns false, with xs partly written, when some |x| ≥ 2^15 or x holds Inf/NaN.
 */
export function prepareF16X(x: usize, n: i32, xs: usize): bool {
  const scale = f32x4.splat(F16_SCALE);
  let m = f32x4.splat(0);
  let c = 0;
  for (; c + 8 <= n; c += 8) {
    const v0 = v128.load(x + (<usize>c << 2));
    const v1 = v128.load(x + (<usize>c << 2), 16);
    m = f32x4.max(m, f32x4.max(f32x4.abs(v0), f32x4.abs(v1)));
    v128.store(xs + (<usize>c << 2), f32x4.mul(f32x4.shuffle(v0, v1, 0, 2, 4, 6), scale));
    v128.store(xs + (<usize>c << 2), f32x4.mul(f32x4.shuffle(v0, v1, 1, 3, 5, 7), scale), 16);
  }
  // NaN fails every comparison, so "all lanes < limit" is false for NaN too.
  return i32x4.all_true(f32x4.lt(m, f32x4.splat(PREPARED_X_LIMIT)));
}

/** 1 when none of the `count` halves at w is an Inf or NaN (exponent 31), else 0. */
export function f16_finite(w: usize, count: i32): i32 {
  let m = i16x8.splat(0);
  let c = 0;
  for (; c + 8 <= count; c += 8) m = trackMagnitude(m, v128.load(w + (<usize>c << 1)));
  if (sawSpecial(m)) return 0;
  for (; c < count; c++) if ((load<u16>(w + (<usize>c << 1)) & 0x7c00) == 0x7c00) return 0;
  return 1;
}
