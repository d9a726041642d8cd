// Multiply-adds that fuse where the module is compiled with relaxed SIMD (kernels_relaxed.wasm: x86 FMA,
// Arm fmla) and round twice elsewhere (kernels.wasm, whose results stay those of mul then add). One source
// serves both modules: ASC_FEATURE_RELAXED_SIMD is the compiler's, constant per module.

/** a·b + c. */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  return ASC_FEATURE_RELAXED_SIMD ? f32x4.relaxed_madd(a, b, c) : f32x4.add(f32x4.mul(a, b), c);
}

/** c − a·b. */
// @ts-ignore: decorator
@inline export function nmadd(a: v128, b: v128, c: v128): v128 {
  return ASC_FEATURE_RELAXED_SIMD ? f32x4.relaxed_nmadd(a, b, c) : f32x4.sub(c, f32x4.mul(a, b));
}
