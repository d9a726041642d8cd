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
// Inf/NaN: exact conversions fix them per lane; the matvec/matmat fast paths instead track the largest
// magnitude seen (`trackMagnitude`) and redo the rare dot product that met one exactly (dot.ts).

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
