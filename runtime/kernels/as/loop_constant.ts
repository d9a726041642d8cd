// v128 constants a hot loop keeps in registers.
//
// V8 (Deno 2.9's, and the engines of Workers and Chromium built on it) does not move constants out of
// loops: every use of a v128.const inside a loop body is rebuilt there (movabs + vmovq + vpunpcklqdq or
// vpinsrq, 3–4 instructions on x64). A kernel whose inner loop masks with a constant pays that per use —
// the f16 products spent a quarter of their instructions on it. A splat of a value neither binaryen nor V8
// can fold is computed once, where the function computes it (before the loop), and stays in a register.
//
// `opaqueZero(size)` is 0 for every size ≥ 0 — every count a kernel loops over (a size ≤ 0 means nothing
// to do, so the loop never runs and the constant is never used) — but the compilers cannot know it. The
// `kept*` splats OR (or add) it into their value: the vector a loop uses is then the constant itself.

/** 0 for any size ≥ 0; opaque to the optimizers. */
// @ts-ignore: decorator
@inline export function opaqueZero(size: i32): i32 {
  return size >>> 31;
}

/** i32x4.splat(v), computed where it stands; `zero` from opaqueZero. */
// @ts-ignore: decorator
@inline export function keptI32x4(v: i32, zero: i32): v128 {
  return i32x4.splat(v | zero);
}

/** i8x16.splat(v), computed where it stands; `zero` from opaqueZero. */
// @ts-ignore: decorator
@inline export function keptI8x16(v: i32, zero: i32): v128 {
  return i8x16.splat(<i8>(v | zero));
}

/** f32x4.splat(v) (v not −0), computed where it stands; `zero` from opaqueZero. */
// @ts-ignore: decorator
@inline export function keptF32x4(v: f32, zero: i32): v128 {
  return f32x4.add(f32x4.splat(v), f32x4.splat(<f32>zero));
}
