// Kernels on Quantized matrices (schema/SPEC.md "Quantized"): x = q · scale, int8 (one byte per element,
// row stride cols) or int4 (two per byte, element 2k of a row in the low nibble of byte k, row stride
// ceil(cols / 2)); scales[r · groupsPerRow + ⌊c / group⌋]. They read the codes as they are: no dense copy.
// This is the plain-SIMD128 build, used everywhere; quantized_relaxed.ts is a faster optional module.
//
// Activations: products first quantize x to int16 with one scale per vector (sx = max|x| / 32767,
// xq = nearest-even(x · (32767 / max|x|)), error ≤ max|x| / 65534 — far below int8/int4 weight error),
// so the inner loops are integer, 8 multiply-adds per i32x4.dot_i16x8_s. Each group's integer sum is
// converted to f32 and multiplied by its scale; the row total by sx.
//   y[r] += sx · Σ_g scale[r, g] · Σ_{c ∈ g} q[r, c] · xq[c]
// Integer sums are exact: they are flushed to f32 every 512 columns (|sum| ≤ 512 · 128 · 32767 < 2^31).
// The f32 part (one product and add per group and row, then · sx) rounds like any f32 sum: within
// 1e-5 + 1e-5·|y| of the reference, which does it in f64. x with Inf/NaN takes an exact f32 path
// instead: y[r] += Σ_c (q · scale) · x[c].
//
// Weight unpacking (4 rows per pass share every load of xq; matmat: 1 row, 4 timesteps):
// - int8: 16 codes → two i16x8 by sign extension (extend_low/high), xq in column order.
// - int4: 32 codes (16 bytes) seen as i16x8: lane j holds columns 4j..4j+3 of the block, one per nibble;
//   nibble k is sign-extended by i16 shifts (shl 12 − 4k, then shr_s 12: 7 shifts for 32 codes, no
//   shuffles) and multiplied with xq stored in "phase" order, so quantizeX writes int4's xq permuted:
//   within each group, from its start, blocks of 32 columns hold [x(4j+0)]_j, [x(4j+1)]_j, [x(4j+2)]_j,
//   [x(4j+3)]_j (j = 0..7); a last block of 16 the same with j = 0..3 (phase k at 4k), one of 8 with
//   j = 0..1 (phase k at 2k); the last < 8 columns of a group stay in column order and run scalar. Every
//   block starts on a byte boundary because int4 takes this path only when the group size is even (or
//   ≥ cols); an odd group size (groups starting mid-byte) takes the scalar path throughout.
//
// `scratch` (matvec and matmat) must hold quantizedScratchBytes(cols) = 16 · xStride(cols) bytes,
// xStride = ceil32(cols + 8): int16 copies of x (four timesteps for matmat) and a staging copy for the
// int4 permutation. Partial SIMD steps read up to 6 elements past cols there, never past the codes.
// `group` must be in 1..cols (the caller clamps a file's larger group_size to cols: same meaning).

import { addLanes, addQuad, hsum4i } from "./dot";
import { chunksPerGroup, q4Chunks, q4ScaleBytes } from "./prepared";
import { keptI32x4, opaqueZero } from "./loop_constant";

// @ts-ignore: decorator
@inline const SEGMENT: i32 = 512;
// @ts-ignore: decorator
@inline const XQ_MAX: f32 = 32767;

/** Elements per int16 copy of x in scratch (room for partial steps' over-read). */
// @ts-ignore: decorator
@inline function xStride(cols: i32): usize {
  return <usize>((cols + 39) & ~31);
}

/** [Σa0, Σa1, Σa2, Σa3] of four f32x4 accumulators, packed. */
// @ts-ignore: decorator
@inline function hsum4f(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const u01 = f32x4.add(f32x4.shuffle(a0, a1, 0, 4, 1, 5), f32x4.shuffle(a0, a1, 2, 6, 3, 7));
  const u23 = f32x4.add(f32x4.shuffle(a2, a3, 0, 4, 1, 5), f32x4.shuffle(a2, a3, 2, 6, 3, 7));
  return f32x4.add(f32x4.shuffle(u01, u23, 0, 1, 4, 5), f32x4.shuffle(u01, u23, 2, 3, 6, 7));
}

/** acc + convert(a) · scale: folds one segment's integer lanes into a row's f32 lanes. */
// @ts-ignore: decorator
@inline function fold(acc: v128, a: v128, scale: v128): v128 {
  return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(a), scale));
}

// @ts-ignore: decorator
@inline function pack4f(v0: f32, v1: f32, v2: f32, v3: f32): v128 {
  return f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(v0), 1, v1), 2, v2), 3, v3);
}

/** Adds t to lane 0 of the i32x4 a. */
// @ts-ignore: decorator
@inline function addLane0(a: v128, t: i32): v128 {
  return i32x4.replace_lane(a, 0, i32x4.extract_lane(a, 0) + t);
}

/** int4 code of element c of a row at p, sign-extended. */
// @ts-ignore: decorator
@inline function nibble(p: usize, c: i32): i32 {
  return ((<i32>load<u8>(p + (<usize>c >> 1)) >> ((c & 1) << 2)) << 28) >> 28;
}

/** Code of element c of a row at p (bits 8 or 4). */
// @ts-ignore: decorator
@inline function code(p: usize, c: i32, bits: i32): i32 {
  return bits == 8 ? <i32>load<i8>(p + <usize>c) : nibble(p, c);
}

/** Whether int4 takes the SIMD path: every group starts on a byte boundary. */
// @ts-ignore: decorator
@inline function q4Fast(cols: i32, group: i32): bool {
  return (group & 1) == 0 || group >= cols;
}

/**
 * acc + Σ the 16 int8 codes at p · 16 int16 activations (xl, xh), column order. Each half of the codes is
 * loaded sign-extended to i16 (v128.load8x8_s: one pmovsxbw from memory on x86, where a v128 load and
 * extend_low/high took three more; decoder 10000 × 200, interleaved A/B: 0.96–0.98 of the time).
 */
// @ts-ignore: decorator
@inline function dotQ8At(acc: v128, p: usize, xl: v128, xh: v128): v128 {
  return i32x4.add(acc, i32x4.add(i32x4.dot_i16x8_s(v128.load8x8_s(p), xl), i32x4.dot_i16x8_s(v128.load8x8_s(p, 8), xh)));
}

/** acc + Σ the 8 int8 codes at p · 8 int16 activations x. */
// @ts-ignore: decorator
@inline function dotQ8HalfAt(acc: v128, p: usize, x: v128): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(v128.load8x8_s(p), x));
}

/**
 * acc + Σ 32 int4 codes (16 bytes w; i16 lane j = columns 4j..4j+3) · xq in phase order (x0: columns
 * 4j, x1: 4j + 1, x2: 4j + 2, x3: 4j + 3). With fewer codes (load64/32_zero) the zero lanes add 0.
 */
// @ts-ignore: decorator
@inline function dotQ4(acc: v128, w: v128, x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const d01 = i32x4.add(
    i32x4.dot_i16x8_s(i16x8.shr_s(i16x8.shl(w, 12), 12), x0),
    i32x4.dot_i16x8_s(i16x8.shr_s(i16x8.shl(w, 8), 12), x1),
  );
  const d23 = i32x4.add(
    i32x4.dot_i16x8_s(i16x8.shr_s(i16x8.shl(w, 4), 12), x2),
    i32x4.dot_i16x8_s(i16x8.shr_s(w, 12), x3),
  );
  return i32x4.add(acc, i32x4.add(d01, d23));
}

/**
 * Moves the int16 codes at src (column order) to dst in int4's phase order (see the top of this file)
 * for groups of `group` columns.
 */
function toPhaseOrder(src: usize, dst: usize, n: i32, group: i32): void {
  for (let g0 = 0; g0 < n; g0 += group) {
    const g1 = min(n, g0 + group);
    let c = g0;
    for (; c + 32 <= g1; c += 32) {
      const s = src + (<usize>c << 1);
      const v0 = v128.load(s);
      const v1 = v128.load(s, 16);
      const v2 = v128.load(s, 32);
      const v3 = v128.load(s, 48);
      // a = [x0 x4 x8 x12 | x1 x5 x9 x13], b = [x2 … x14 | x3 … x15]; c2, d2 the same for 16..31.
      const a = i16x8.shuffle(v0, v1, 0, 4, 8, 12, 1, 5, 9, 13);
      const b = i16x8.shuffle(v0, v1, 2, 6, 10, 14, 3, 7, 11, 15);
      const c2 = i16x8.shuffle(v2, v3, 0, 4, 8, 12, 1, 5, 9, 13);
      const d2 = i16x8.shuffle(v2, v3, 2, 6, 10, 14, 3, 7, 11, 15);
      const o = dst + (<usize>c << 1);
      v128.store(o, i64x2.shuffle(a, c2, 0, 2));
      v128.store(o, i64x2.shuffle(a, c2, 1, 3), 16);
      v128.store(o, i64x2.shuffle(b, d2, 0, 2), 32);
      v128.store(o, i64x2.shuffle(b, d2, 1, 3), 48);
    }
    if (c + 16 <= g1) {
      const s = src + (<usize>c << 1);
      const v0 = v128.load(s);
      const v1 = v128.load(s, 16);
      const o = dst + (<usize>c << 1);
      v128.store(o, i16x8.shuffle(v0, v1, 0, 4, 8, 12, 1, 5, 9, 13));
      v128.store(o, i16x8.shuffle(v0, v1, 2, 6, 10, 14, 3, 7, 11, 15), 16);
      c += 16;
    }
    if (c + 8 <= g1) {
      const v0 = v128.load(src + (<usize>c << 1));
      v128.store(dst + (<usize>c << 1), i16x8.shuffle(v0, v0, 0, 4, 1, 5, 2, 6, 3, 7));
      c += 8;
    }
    for (; c < g1; c++) store<i16>(dst + (<usize>c << 1), load<i16>(src + (<usize>c << 1)));
  }
}

/**
 * Quantizes x (n f32) to int16 at out and returns sx (x ≈ xq · sx): 0 when x is all zeros (xq = 0),
 * NaN when x holds an Inf or NaN (out not written). With `phased` (int4 SIMD path) out is in phase order
 * for groups of `group`, staged through `stage` (n int16).
 */
export function quantizeX(x: usize, n: i32, out: usize, phased: bool, group: i32, stage: usize): f32 {
  let mv = f32x4.splat(0);
  let c = 0;
  for (; c + 4 <= n; c += 4) mv = f32x4.max(mv, f32x4.abs(v128.load(x + (<usize>c << 2))));
  let m = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  for (; c < n; c++) m = max(m, abs(load<f32>(x + (<usize>c << 2))));
  if (!(m <= F32.MAX_VALUE)) return NaN;
  if (m == 0) {
    memory.fill(out, 0, <usize>n << 1);
    return 0;
  }
  const inv: f32 = XQ_MAX / m;
  const invv = f32x4.splat(inv);
  const dst = phased ? stage : out;
  c = 0;
  for (; c + 8 <= n; c += 8) {
    const s = x + (<usize>c << 2);
    const lo = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(s), invv)));
    const hi = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(s, 16), invv)));
    v128.store(dst + (<usize>c << 1), i16x8.narrow_i32x4_s(lo, hi));
  }
  for (; c < n; c++) {
    store<i16>(dst + (<usize>c << 1), <i16>(<i32>nearest<f32>(load<f32>(x + (<usize>c << 2)) * inv)));
  }
  if (phased) toPhaseOrder(stage, out, n, group);
  return m / XQ_MAX;
}

/** The exact f32 path (x with Inf/NaN): Σ_c (q·scale)·x[c] for one row. */
function floatRowDot(p: usize, s: usize, cols: i32, group: i32, bits: i32, x: usize): f32 {
  let sum: f32 = 0;
  for (let c = 0; c < cols; c++) {
    const sc = load<f32>(s + (<usize>(c / group) << 2));
    sum += (<f32>code(p, c, bits) * sc) * load<f32>(x + (<usize>c << 2));
  }
  return sum;
}

// @ts-ignore: decorator
@inline function rowStride(cols: i32, bits: i32): usize {
  return bits == 8 ? <usize>cols : <usize>((cols + 1) >> 1);
}

/**
 * Four rows (p0..p3, scales s0..s3) · one int16 vector xq → f32x4 [Σ_g scale·Σ q·xq] (before sx).
 * bits 8, or bits 4 with q4Fast and xq in phase order (else the scalar path is used for all columns).
 */
// @ts-ignore: decorator
@inline function dot4Rows(
  p0: usize, p1: usize, p2: usize, p3: usize,
  s0: usize, s1: usize, s2: usize, s3: usize,
  xq: usize, cols: i32, group: i32, bits: i32,
): v128 {
  const simd = bits == 8 || q4Fast(cols, group);
  let f0 = f32x4.splat(0);
  let f1 = f0;
  let f2 = f0;
  let f3 = f0;
  let gi: usize = 0;
  let g0 = 0;
  if (bits == 4 && (group & 31) == 0 && group <= SEGMENT) {
    // Whole groups of a multiple of 32 columns (≤ 512): 32-column steps only, nothing partial.
    const fastEnd = cols - cols % group;
    for (; g0 < fastEnd; g0 += group) {
      let a0 = i32x4.splat(0);
      let a1 = a0;
      let a2 = a0;
      let a3 = a0;
      for (let c = g0; c < g0 + group; c += 32) {
        const xo = xq + (<usize>c << 1);
        const x0 = v128.load(xo);
        const x1 = v128.load(xo, 16);
        const x2 = v128.load(xo, 32);
        const x3 = v128.load(xo, 48);
        const o = <usize>c >> 1;
        a0 = dotQ4(a0, v128.load(p0 + o), x0, x1, x2, x3);
        a1 = dotQ4(a1, v128.load(p1 + o), x0, x1, x2, x3);
        a2 = dotQ4(a2, v128.load(p2 + o), x0, x1, x2, x3);
        a3 = dotQ4(a3, v128.load(p3 + o), x0, x1, x2, x3);
      }
      f0 = fold(f0, a0, v128.load32_splat(s0 + gi));
      f1 = fold(f1, a1, v128.load32_splat(s1 + gi));
      f2 = fold(f2, a2, v128.load32_splat(s2 + gi));
      f3 = fold(f3, a3, v128.load32_splat(s3 + gi));
      gi += 4;
    }
  }
  for (; g0 < cols; g0 += group) {
    const g1 = min(cols, g0 + group);
    let c = g0;
    while (c < g1) {
      const end = min(g1, c + SEGMENT);
      let a0 = i32x4.splat(0);
      let a1 = a0;
      let a2 = a0;
      let a3 = a0;
      if (simd) {
        if (bits == 8) {
          for (; c + 16 <= end; c += 16) {
            const xo = xq + (<usize>c << 1);
            const xl = v128.load(xo);
            const xh = v128.load(xo, 16);
            const o = <usize>c;
            a0 = dotQ8At(a0, p0 + o, xl, xh);
            a1 = dotQ8At(a1, p1 + o, xl, xh);
            a2 = dotQ8At(a2, p2 + o, xl, xh);
            a3 = dotQ8At(a3, p3 + o, xl, xh);
          }
          if (c + 8 <= end) {
            const xl = v128.load(xq + (<usize>c << 1));
            const o = <usize>c;
            a0 = dotQ8HalfAt(a0, p0 + o, xl);
            a1 = dotQ8HalfAt(a1, p1 + o, xl);
            a2 = dotQ8HalfAt(a2, p2 + o, xl);
            a3 = dotQ8HalfAt(a3, p3 + o, xl);
            c += 8;
          }
        } else {
          for (; c + 32 <= end; c += 32) {
            const xo = xq + (<usize>c << 1);
            const x0 = v128.load(xo);
            const x1 = v128.load(xo, 16);
            const x2 = v128.load(xo, 32);
            const x3 = v128.load(xo, 48);
            const o = <usize>c >> 1;
            a0 = dotQ4(a0, v128.load(p0 + o), x0, x1, x2, x3);
            a1 = dotQ4(a1, v128.load(p1 + o), x0, x1, x2, x3);
            a2 = dotQ4(a2, v128.load(p2 + o), x0, x1, x2, x3);
            a3 = dotQ4(a3, v128.load(p3 + o), x0, x1, x2, x3);
          }
          if (c + 16 <= end) {
            const xo = xq + (<usize>c << 1);
            const x0 = v128.load(xo);
            const x1 = v128.load(xo, 8);
            const x2 = v128.load(xo, 16);
            const x3 = v128.load(xo, 24);
            const o = <usize>c >> 1;
            a0 = dotQ4(a0, v128.load64_zero(p0 + o), x0, x1, x2, x3);
            a1 = dotQ4(a1, v128.load64_zero(p1 + o), x0, x1, x2, x3);
            a2 = dotQ4(a2, v128.load64_zero(p2 + o), x0, x1, x2, x3);
            a3 = dotQ4(a3, v128.load64_zero(p3 + o), x0, x1, x2, x3);
            c += 16;
          }
          if (c + 8 <= end) {
            const xo = xq + (<usize>c << 1);
            const x0 = v128.load(xo);
            const x1 = v128.load(xo, 4);
            const x2 = v128.load(xo, 8);
            const x3 = v128.load(xo, 12);
            const o = <usize>c >> 1;
            a0 = dotQ4(a0, v128.load32_zero(p0 + o), x0, x1, x2, x3);
            a1 = dotQ4(a1, v128.load32_zero(p1 + o), x0, x1, x2, x3);
            a2 = dotQ4(a2, v128.load32_zero(p2 + o), x0, x1, x2, x3);
            a3 = dotQ4(a3, v128.load32_zero(p3 + o), x0, x1, x2, x3);
            c += 8;
          }
        }
      }
      if (c < end) {
        let t0 = 0;
        let t1 = 0;
        let t2 = 0;
        let t3 = 0;
        for (; c < end; c++) {
          const xv = <i32>load<i16>(xq + (<usize>c << 1));
          t0 += code(p0, c, bits) * xv;
          t1 += code(p1, c, bits) * xv;
          t2 += code(p2, c, bits) * xv;
          t3 += code(p3, c, bits) * xv;
        }
        a0 = addLane0(a0, t0);
        a1 = addLane0(a1, t1);
        a2 = addLane0(a2, t2);
        a3 = addLane0(a3, t3);
      }
      f0 = fold(f0, a0, v128.load32_splat(s0 + gi));
      f1 = fold(f1, a1, v128.load32_splat(s1 + gi));
      f2 = fold(f2, a2, v128.load32_splat(s2 + gi));
      f3 = fold(f3, a3, v128.load32_splat(s3 + gi));
    }
    gi += 4;
  }
  return hsum4f(f0, f1, f2, f3);
}

/**
 * One row (p, scales s) · four int16 vectors xq0..xq3 → f32x4 [Σ_g scale·Σ q·xq_t] for t = 0..3.
 */
// @ts-ignore: decorator
@inline function dotRowX4(
  p: usize, s: usize,
  x0: usize, x1: usize, x2: usize, x3: usize,
  cols: i32, group: i32, bits: i32,
): v128 {
  const simd = bits == 8 || q4Fast(cols, group);
  let f0 = f32x4.splat(0);
  let f1 = f0;
  let f2 = f0;
  let f3 = f0;
  let gi: usize = 0;
  for (let g0 = 0; g0 < cols; g0 += group) {
    const g1 = min(cols, g0 + group);
    const sc = v128.load32_splat(s + gi);
    gi += 4;
    let c = g0;
    while (c < g1) {
      const end = min(g1, c + SEGMENT);
      let a0 = i32x4.splat(0);
      let a1 = a0;
      let a2 = a0;
      let a3 = a0;
      if (simd) {
        if (bits == 8) {
          for (; c + 16 <= end; c += 16) {
            const w = v128.load(p + <usize>c);
            const lo = i16x8.extend_low_i8x16_s(w);
            const hi = i16x8.extend_high_i8x16_s(w);
            const xo = <usize>c << 1;
            a0 = i32x4.add(a0, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load(x0 + xo)), i32x4.dot_i16x8_s(hi, v128.load(x0 + xo, 16))));
            a1 = i32x4.add(a1, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load(x1 + xo)), i32x4.dot_i16x8_s(hi, v128.load(x1 + xo, 16))));
            a2 = i32x4.add(a2, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load(x2 + xo)), i32x4.dot_i16x8_s(hi, v128.load(x2 + xo, 16))));
            a3 = i32x4.add(a3, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load(x3 + xo)), i32x4.dot_i16x8_s(hi, v128.load(x3 + xo, 16))));
          }
          if (c + 8 <= end) {
            const lo = i16x8.extend_low_i8x16_s(v128.load64_zero(p + <usize>c));
            const xo = <usize>c << 1;
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(lo, v128.load(x0 + xo)));
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(lo, v128.load(x1 + xo)));
            a2 = i32x4.add(a2, i32x4.dot_i16x8_s(lo, v128.load(x2 + xo)));
            a3 = i32x4.add(a3, i32x4.dot_i16x8_s(lo, v128.load(x3 + xo)));
            c += 8;
          }
        } else {
          for (; c + 32 <= end; c += 32) {
            const w = v128.load(p + (<usize>c >> 1));
            const n0 = i16x8.shr_s(i16x8.shl(w, 12), 12);
            const n1 = i16x8.shr_s(i16x8.shl(w, 8), 12);
            const n2 = i16x8.shr_s(i16x8.shl(w, 4), 12);
            const n3 = i16x8.shr_s(w, 12);
            const xo = <usize>c << 1;
            a0 = dotPhases(a0, n0, n1, n2, n3, x0 + xo, 16);
            a1 = dotPhases(a1, n0, n1, n2, n3, x1 + xo, 16);
            a2 = dotPhases(a2, n0, n1, n2, n3, x2 + xo, 16);
            a3 = dotPhases(a3, n0, n1, n2, n3, x3 + xo, 16);
          }
          if (c + 16 <= end) {
            const w = v128.load64_zero(p + (<usize>c >> 1));
            const n0 = i16x8.shr_s(i16x8.shl(w, 12), 12);
            const n1 = i16x8.shr_s(i16x8.shl(w, 8), 12);
            const n2 = i16x8.shr_s(i16x8.shl(w, 4), 12);
            const n3 = i16x8.shr_s(w, 12);
            const xo = <usize>c << 1;
            a0 = dotPhases(a0, n0, n1, n2, n3, x0 + xo, 8);
            a1 = dotPhases(a1, n0, n1, n2, n3, x1 + xo, 8);
            a2 = dotPhases(a2, n0, n1, n2, n3, x2 + xo, 8);
            a3 = dotPhases(a3, n0, n1, n2, n3, x3 + xo, 8);
            c += 16;
          }
          if (c + 8 <= end) {
            const w = v128.load32_zero(p + (<usize>c >> 1));
            const n0 = i16x8.shr_s(i16x8.shl(w, 12), 12);
            const n1 = i16x8.shr_s(i16x8.shl(w, 8), 12);
            const n2 = i16x8.shr_s(i16x8.shl(w, 4), 12);
            const n3 = i16x8.shr_s(w, 12);
            const xo = <usize>c << 1;
            a0 = dotPhases(a0, n0, n1, n2, n3, x0 + xo, 4);
            a1 = dotPhases(a1, n0, n1, n2, n3, x1 + xo, 4);
            a2 = dotPhases(a2, n0, n1, n2, n3, x2 + xo, 4);
            a3 = dotPhases(a3, n0, n1, n2, n3, x3 + xo, 4);
            c += 8;
          }
        }
      }
      if (c < end) {
        let t0 = 0;
        let t1 = 0;
        let t2 = 0;
        let t3 = 0;
        for (; c < end; c++) {
          const q = code(p, c, bits);
          const xo = <usize>c << 1;
          t0 += q * <i32>load<i16>(x0 + xo);
          t1 += q * <i32>load<i16>(x1 + xo);
          t2 += q * <i32>load<i16>(x2 + xo);
          t3 += q * <i32>load<i16>(x3 + xo);
        }
        a0 = addLane0(a0, t0);
        a1 = addLane0(a1, t1);
        a2 = addLane0(a2, t2);
        a3 = addLane0(a3, t3);
      }
      f0 = fold(f0, a0, sc);
      f1 = fold(f1, a1, sc);
      f2 = fold(f2, a2, sc);
      f3 = fold(f3, a3, sc);
    }
  }
  return hsum4f(f0, f1, f2, f3);
}

/** acc + Σ_k dot(n_k, phase k of xq at x), phase k at byte offset k · step (16, 8 or 4). */
// @ts-ignore: decorator
@inline function dotPhases(acc: v128, n0: v128, n1: v128, n2: v128, n3: v128, x: usize, step: usize): v128 {
  const d01 = i32x4.add(i32x4.dot_i16x8_s(n0, v128.load(x)), i32x4.dot_i16x8_s(n1, v128.load(x + step)));
  const d23 = i32x4.add(i32x4.dot_i16x8_s(n2, v128.load(x + 2 * step)), i32x4.dot_i16x8_s(n3, v128.load(x + 3 * step)));
  return i32x4.add(acc, i32x4.add(d01, d23));
}

/** y (rows) += sx · W · xq for one quantized vector xq (finite x): four rows per pass. */
// @ts-ignore: decorator
@inline function productRows(
  w: usize, scales: usize, rows: i32, cols: i32, group: i32, xq: usize, sx: f32, y: usize, bits: i32,
): void {
  const stride = rowStride(cols, bits);
  const gpr = (cols - 1) / group + 1;
  const sStride = <usize>gpr << 2;
  const sxv = f32x4.splat(sx);
  for (let r = 0; r < rows; r += 4) {
    const m = min(4, rows - r);
    const p0 = w + <usize>r * stride;
    const q0 = scales + <usize>r * sStride;
    const s = dot4Rows(
      p0, m > 1 ? p0 + stride : p0, m > 2 ? p0 + 2 * stride : p0, m > 3 ? p0 + 3 * stride : p0,
      q0, m > 1 ? q0 + sStride : q0, m > 2 ? q0 + 2 * sStride : q0, m > 3 ? q0 + 3 * sStride : q0,
      xq, cols, group, bits,
    );
    const dst = y + (<usize>r << 2);
    if (m == 4) v128.store(dst, f32x4.add(v128.load(dst), f32x4.mul(s, sxv)));
    else addLanes(dst, 4, f32x4.mul(s, sxv), m);
  }
}

/** The scales of four rows (s, s + step, …) at byte offset gi, packed. */
// @ts-ignore: decorator
@inline function scales4(s: usize, step: usize, gi: usize): v128 {
  return pack4f(load<f32>(s + gi), load<f32>(s + step + gi), load<f32>(s + 2 * step + gi), load<f32>(s + 3 * step + gi));
}

/**
 * int8: y (rows) += sx · W · xq, eight rows per pass where rows allow (each pair of int16 x loads serves
 * eight rows instead of four: the 4-row loop issued ≈ 1 instruction per weight), the rest four at a time.
 * Each segment's eight integer sums are added up exactly (hsum4i) before the one conversion and scaling.
 */
function productRows8(
  w: usize, scales: usize, rows: i32, cols: i32, group: i32, xq: usize, sx: f32, y: usize, copy: usize,
): void {
  const stride = <usize>cols;
  const sStride = <usize>((cols - 1) / group + 1) << 2;
  const sxv = f32x4.splat(sx);
  // With q8_interleave's copy the eight rows' codes of 16 columns are 128 contiguous bytes: row i of
  // column c at b + (c << 3) + 16 · i (c a multiple of 16 in every SIMD step: groups are whole chunks).
  const fromCopy = copy != 0 && q8Interleaved(cols, group);
  const rowStep: usize = fromCopy ? 16 : stride;
  const colShift = fromCopy ? 3 : 0;
  const block = <usize>((cols + 15) >> 4) << 7;
  let r = 0;
  for (; r + 8 <= rows; r += 8) {
    const p0 = w + <usize>r * stride;
    const b = fromCopy ? copy + <usize>(r >> 3) * block : p0;
    const q0 = scales + <usize>r * sStride;
    let fa = f32x4.splat(0);
    let fb = fa;
    let gi: usize = 0;
    for (let g0 = 0; g0 < cols; g0 += group) {
      const g1 = min(cols, g0 + group);
      let c = g0;
      while (c < g1) {
        const end = min(g1, c + SEGMENT);
        let a0 = i32x4.splat(0);
        let a1 = a0;
        let a2 = a0;
        let a3 = a0;
        let a4 = a0;
        let a5 = a0;
        let a6 = a0;
        let a7 = a0;
        for (; c + 16 <= end; c += 16) {
          const xo = xq + (<usize>c << 1);
          const xl = v128.load(xo);
          const xh = v128.load(xo, 16);
          const o = b + (<usize>c << colShift);
          a0 = dotQ8At(a0, o, xl, xh);
          a1 = dotQ8At(a1, o + rowStep, xl, xh);
          a2 = dotQ8At(a2, o + 2 * rowStep, xl, xh);
          a3 = dotQ8At(a3, o + 3 * rowStep, xl, xh);
          a4 = dotQ8At(a4, o + 4 * rowStep, xl, xh);
          a5 = dotQ8At(a5, o + 5 * rowStep, xl, xh);
          a6 = dotQ8At(a6, o + 6 * rowStep, xl, xh);
          a7 = dotQ8At(a7, o + 7 * rowStep, xl, xh);
        }
        if (c + 8 <= end) {
          const xl = v128.load(xq + (<usize>c << 1));
          const o = b + (<usize>c << colShift);
          a0 = dotQ8HalfAt(a0, o, xl);
          a1 = dotQ8HalfAt(a1, o + rowStep, xl);
          a2 = dotQ8HalfAt(a2, o + 2 * rowStep, xl);
          a3 = dotQ8HalfAt(a3, o + 3 * rowStep, xl);
          a4 = dotQ8HalfAt(a4, o + 4 * rowStep, xl);
          a5 = dotQ8HalfAt(a5, o + 5 * rowStep, xl);
          a6 = dotQ8HalfAt(a6, o + 6 * rowStep, xl);
          a7 = dotQ8HalfAt(a7, o + 7 * rowStep, xl);
          c += 8;
        }
        let ta = hsum4i(a0, a1, a2, a3);
        let tb = hsum4i(a4, a5, a6, a7);
        for (; c < end; c++) {
          // The last < 8 columns of a segment, for eight rows (lanes 0..3 of ta, then tb).
          const xv = i32x4.splat(<i32>load<i16>(xq + (<usize>c << 1)));
          const o = p0 + <usize>c;
          const ca = i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(<i32>load<i8>(o)), 1,
            <i32>load<i8>(o + stride)), 2, <i32>load<i8>(o + 2 * stride)), 3, <i32>load<i8>(o + 3 * stride));
          const cb = i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(<i32>load<i8>(o + 4 * stride)), 1,
            <i32>load<i8>(o + 5 * stride)), 2, <i32>load<i8>(o + 6 * stride)), 3, <i32>load<i8>(o + 7 * stride));
          ta = i32x4.add(ta, i32x4.mul(ca, xv));
          tb = i32x4.add(tb, i32x4.mul(cb, xv));
        }
        fa = fold(fa, ta, scales4(q0, sStride, gi));
        fb = fold(fb, tb, scales4(q0 + 4 * sStride, sStride, gi));
      }
      gi += 4;
    }
    const dst = y + (<usize>r << 2);
    v128.store(dst, f32x4.add(v128.load(dst), f32x4.mul(fa, sxv)));
    v128.store(dst, f32x4.add(v128.load(dst, 16), f32x4.mul(fb, sxv)), 16);
  }
  if (r < rows) {
    productRows(w + <usize>r * stride, scales + <usize>r * sStride, rows - r, cols, group, xq, sx, y + (<usize>r << 2), 8);
  }
}

/**
 * Whether an int8 matrix gets q8_interleave's copy: cols a multiple of 8 and groups of whole 16-column
 * chunks (or one group per row), so that every SIMD step starts a chunk.
 */
// @ts-ignore: decorator
@inline export function q8Interleaved(cols: i32, group: i32): bool {
  return (cols & 7) == 0 && (group >= cols || (group & 15) == 0);
}

/**
 * The copy of an int8 matrix (rows, cols) that matvec_q8 and the relaxed matvec_q8r read where given
 * (q8InterleavedBytes bytes at out; nothing is written unless q8Interleaved(cols, group)): each whole
 * block of eight rows, interleaved per 16 columns — chunk k of block b at (b · ⌈cols/16⌉ + k) · 128, row
 * 8b + i's 16 codes at 16 · i, the last chunk padded with zero codes. The eight-row passes then read one
 * sequential stream instead of eight rows' (from memory not in cache, row-major codes took up to 1.8× as
 * long). The last rows % 8 rows are read from W.
 */
export function q8_interleave(w: usize, rows: i32, cols: i32, group: i32, out: usize): void {
  if (rows < 8 || cols <= 0 || !q8Interleaved(cols, group)) return;
  const chunks = <usize>((cols + 15) >> 4);
  memory.fill(out, 0, <usize>(rows >> 3) * chunks << 7);
  for (let r = 0; r < (rows & ~7); r++) {
    const src = w + <usize>r * <usize>cols;
    const row = out + ((<usize>(r >> 3) * chunks) << 7) + (<usize>(r & 7) << 4);
    let c = 0;
    for (; c + 16 <= cols; c += 16) v128.store(row + (<usize>(c >> 4) << 7), v128.load(src + <usize>c));
    if (c < cols) v128.store64_lane(row + (<usize>(c >> 4) << 7), v128.load64_zero(src + <usize>c), 0);
  }
}

function productRows4(w: usize, scales: usize, rows: i32, cols: i32, group: i32, xq: usize, sx: f32, y: usize): void {
  productRows(w, scales, rows, cols, group, xq, sx, y, 4);
}

/** y (rows) += W · x for x with an Inf or NaN: the exact f32 path. */
function floatRows(w: usize, scales: usize, rows: i32, cols: i32, group: i32, x: usize, y: usize, bits: i32): void {
  const stride = rowStride(cols, bits);
  const sStride = <usize>((cols - 1) / group + 1) << 2;
  for (let r = 0; r < rows; r++) {
    const dst = y + (<usize>r << 2);
    store<f32>(dst, load<f32>(dst) + floatRowDot(w + <usize>r * stride, scales + <usize>r * sStride, cols, group, bits, x));
  }
}

// ---- int4 over q4_prepare's table --------------------------------------------------------------------
// matvec_q4 with `prep` reads the copy of the codes that q4_prepare (prepared.ts) writes once per matrix:
// quads of rows, chunks of 8 columns, each nibble biased to v = q + 8, a block of four quads' chunk in 64
// contiguous bytes, one sequential stream (the rows as stored are four streams a row apart). A quad's chunk
// (16 bytes) seen as i16x8 holds in lanes 2r, 2r + 1 row r's columns 0..3 and 4..7, a nibble each, so
// masking nibble k of every lane (and, shr_u: 6 ops for 32 codes, against 7 shifts for the signed codes)
// pairs it with x's columns k and k + 4, and one i32x4.dot_i16x8_s per nibble sums each row in its own
// i32 lane: no horizontal sums, and each group's scales for the quad are one v128. x: int16 as quantizeX
// (the same codes as the plain product, so the same integer group sums), per chunk [x0 x4 x1 x5 x2 x6 x3
// x7]; the sums start at −8 · Σ_{c ∈ g} xq (the bias). Any group of 2 or more columns (each padded to whole
// chunks by the table, as for the relaxed products) of at most Q4P_MAX_COLUMNS: after k of a group's n
// columns a lane holds Σ_{c<k} (v − 8)·xq − 8 · Σ_{c≥k} xq, |·| ≤ 8 · 32767 · n < 2^31 for n ≤ 8184
// (longer groups and groups of one column: the row-major path, whose sums flush every 512 columns).
// Scratch (quantizedScratchBytes = 16 · S bytes, S = xStride(cols) ≥ cols + 8): xq at 0, the chunked copy at
// 2 · S bytes (≤ 8 · cols + 16: group 2 pads 2 columns to 8), the corrections at 10 · S (4 per group).

// @ts-ignore: decorator
@inline const Q4P_MAX_COLUMNS: i32 = 8184;

/** Whether matvec_q4's product over the prepared table takes this shape's groups. */
// @ts-ignore: decorator
@inline function q4PreparedFits(cols: i32, group: i32): bool {
  return (group >= 2 || group >= cols) && min(group, cols) <= Q4P_MAX_COLUMNS;
}

/**
 * acc + one chunk of a quad (16 bytes wb, biased codes) · x's chunk pairs (x04 = [x0, x4] in every i32 lane,
 * …): lane r + Σ_{c<8} v[r, c] · xq[c].
 */
// @ts-ignore: decorator
@inline function dotQ4Quad(acc: v128, wb: v128, x04: v128, x15: v128, x26: v128, x37: v128, m: v128): v128 {
  const d01 = i32x4.add(
    i32x4.dot_i16x8_s(v128.and(wb, m), x04),
    i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(wb, 4), m), x15),
  );
  const d23 = i32x4.add(
    i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(wb, 8), m), x26),
    i32x4.dot_i16x8_s(i16x8.shr_u(wb, 12), x37),
  );
  return i32x4.add(acc, i32x4.add(d01, d23));
}

/**
 * xq (n int16, column order, at least 8 readable past n) → per chunk [x0 x4 x1 x5 x2 x6 x3 x7] at dst, group
 * g's from chunk g · ⌈group/8⌉, and corr[g] = −8 · Σ_{c ∈ g} xq[c] (i32). A group's last chunk may carry the
 * next group's (or past n, any) x: the table's codes there are 0 and add nothing.
 */
function toQuadChunks(xq: usize, dst: usize, n: i32, group: i32, corr: usize): void {
  const perGroup = <usize>chunksPerGroup(n, group) << 4; // bytes of chunked x per whole group
  let d = dst;
  let gi: usize = 0;
  for (let g0 = 0; g0 < n; g0 += group) {
    const len = min(n, g0 + group) - g0;
    const src = xq + (<usize>g0 << 1);
    let sv = i32x4.splat(0);
    let c = 0;
    for (; c + 8 <= len; c += 8) {
      const v = v128.load(src + (<usize>c << 1));
      v128.store(d + (<usize>c << 1), i16x8.shuffle(v, v, 0, 4, 1, 5, 2, 6, 3, 7));
      sv = i32x4.add(sv, i32x4.extadd_pairwise_i16x8_s(v));
    }
    let sum = i32x4.extract_lane(sv, 0) + i32x4.extract_lane(sv, 1) + i32x4.extract_lane(sv, 2) + i32x4.extract_lane(sv, 3);
    if (c < len) {
      const v = v128.load(src + (<usize>c << 1));
      v128.store(d + (<usize>c << 1), i16x8.shuffle(v, v, 0, 4, 1, 5, 2, 6, 3, 7));
      for (; c < len; c++) sum += <i32>load<i16>(src + (<usize>c << 1));
    }
    store<i32>(corr + gi, -(sum << 3));
    gi += 4;
    d += perGroup;
  }
}

/** y (rows) += sx · W·xq over q4_prepare's table at prep (x prepared by toQuadChunks at xs, corr). */
function productQuadsQ4(prep: usize, rows: i32, cols: i32, group: i32, xs: usize, corr: usize, sx: f32, y: usize): void {
  const m = keptI32x4(0x000f000f, opaqueZero(rows)); // in a register: loop_constant.ts
  const chunks = <usize>q4Chunks(cols, group);
  const perGroup = <usize>chunksPerGroup(cols, group);
  const gpr = (cols - 1) / group + 1;
  const sxv = f32x4.splat(sx);
  const quads = (rows + 3) >> 2;
  let c = prep + q4ScaleBytes(rows, gpr);
  let sc = prep;
  // A block of four quads per pass: each x chunk serves 16 rows; a last block of fewer quads reads zero
  // codes and scales in the others' places and drops their results. (The pass of relaxed.ts's
  // q4ProductWith over the same table; its chunks hold 8-bit x and its sums run through relaxed dot
  // products, the i16 ones in a loop of their own: the two modules share the layout, not this loop.)
  for (let q = 0; q < quads; q += 4) {
    let f0 = f32x4.splat(0);
    let f1 = f0;
    let f2 = f0;
    let f3 = f0;
    let xc = xs;
    let cg = corr;
    const end = c + (chunks << 6);
    while (c < end) {
      const groupEnd = min(end, c + (perGroup << 6));
      let a0 = v128.load32_splat(cg);
      let a1 = a0;
      let a2 = a0;
      let a3 = a0;
      do {
        const xv = v128.load(xc);
        const x04 = i32x4.shuffle(xv, xv, 0, 0, 0, 0);
        const x15 = i32x4.shuffle(xv, xv, 1, 1, 1, 1);
        const x26 = i32x4.shuffle(xv, xv, 2, 2, 2, 2);
        const x37 = i32x4.shuffle(xv, xv, 3, 3, 3, 3);
        a0 = dotQ4Quad(a0, v128.load(c), x04, x15, x26, x37, m);
        a1 = dotQ4Quad(a1, v128.load(c, 16), x04, x15, x26, x37, m);
        a2 = dotQ4Quad(a2, v128.load(c, 32), x04, x15, x26, x37, m);
        a3 = dotQ4Quad(a3, v128.load(c, 48), x04, x15, x26, x37, m);
        c += 64;
        xc += 16;
      } while (c < groupEnd);
      f0 = fold(f0, a0, v128.load(sc));
      f1 = fold(f1, a1, v128.load(sc, 16));
      f2 = fold(f2, a2, v128.load(sc, 32));
      f3 = fold(f3, a3, v128.load(sc, 48));
      sc += 64;
      cg += 4;
    }
    const n = min(4, quads - q);
    const r0 = q << 2;
    addQuad(y, r0, rows, f32x4.mul(f0, sxv));
    if (n > 1) addQuad(y, r0 + 4, rows, f32x4.mul(f1, sxv));
    if (n > 2) addQuad(y, r0 + 8, rows, f32x4.mul(f2, sxv));
    if (n > 3) addQuad(y, r0 + 12, rows, f32x4.mul(f3, sxv));
  }
}

/** matvec_q4 over q4_prepare's table (q4PreparedFits): x to int16, chunked; Inf/NaN: the exact path. */
function matvecQ4Prepared(
  w: usize, scales: usize, prep: usize, rows: i32, cols: i32, group: i32, x: usize, y: usize, scratch: usize,
): void {
  const S = xStride(cols) << 1; // bytes of one int16 copy of x
  const sx = quantizeX(x, cols, scratch, false, group, 0);
  if (sx == 0) return;
  if (isNaN(sx)) {
    floatRows(w, scales, rows, cols, group, x, y, 4);
    return;
  }
  toQuadChunks(scratch, scratch + S, cols, group, scratch + 5 * S);
  productQuadsQ4(prep, rows, cols, group, scratch + S, scratch + 5 * S, sx, y);
}

// @ts-ignore: decorator
@inline function matvecQ(
  w: usize, scales: usize, rows: i32, cols: i32, group: i32, x: usize, y: usize, scratch: usize, bits: i32,
  copy: usize,
): void {
  if (rows <= 0 || cols <= 0) return;
  if (bits == 4 && copy != 0 && q4PreparedFits(cols, group)) {
    matvecQ4Prepared(w, scales, copy, rows, cols, group, x, y, scratch);
    return;
  }
  const phased = bits == 4 && q4Fast(cols, group);
  const sx = quantizeX(x, cols, scratch, phased, group, scratch + (xStride(cols) << 1));
  if (sx == 0) return;
  if (isNaN(sx)) floatRows(w, scales, rows, cols, group, x, y, bits);
  else if (bits == 8) productRows8(w, scales, rows, cols, group, scratch, sx, y, copy);
  else productRows4(w, scales, rows, cols, group, scratch, sx, y);
}

// @ts-ignore: decorator
@inline function matmatQ(
  w: usize, scales: usize, rows: i32, cols: i32, group: i32, x: usize, n: i32, y: usize, scratch: usize,
  bits: i32,
): void {
  if (rows <= 0 || cols <= 0) return;
  const stride = rowStride(cols, bits);
  const gpr = (cols - 1) / group + 1;
  const sStride = <usize>gpr << 2;
  const xStrideF = <usize>cols << 2;
  const yStride = <usize>rows << 2;
  const qStride = xStride(cols) << 1;
  const phased = bits == 4 && q4Fast(cols, group);
  const stage = scratch + 4 * qStride;
  for (let t = 0; t < n; t += 4) {
    const m = min(4, n - t);
    const xt = x + <usize>t * xStrideF;
    const yt = y + <usize>t * yStride;
    const sx0 = quantizeX(xt, cols, scratch, phased, group, stage);
    const sx1 = m > 1 ? quantizeX(xt + xStrideF, cols, scratch + qStride, phased, group, stage) : <f32>0;
    const sx2 = m > 2 ? quantizeX(xt + 2 * xStrideF, cols, scratch + 2 * qStride, phased, group, stage) : <f32>0;
    const sx3 = m > 3 ? quantizeX(xt + 3 * xStrideF, cols, scratch + 3 * qStride, phased, group, stage) : <f32>0;
    if (isNaN(sx0) || isNaN(sx1) || isNaN(sx2) || isNaN(sx3)) {
      // Each timestep as matvec would do it: the exact path only where x has an Inf/NaN.
      for (let u = 0; u < m; u++) {
        const sx = u == 0 ? sx0 : u == 1 ? sx1 : u == 2 ? sx2 : sx3;
        const yu = yt + <usize>u * yStride;
        if (isNaN(sx)) floatRows(w, scales, rows, cols, group, xt + <usize>u * xStrideF, yu, bits);
        else if (sx == 0) continue;
        else if (bits == 8) productRows8(w, scales, rows, cols, group, scratch + <usize>u * qStride, sx, yu, 0);
        else productRows4(w, scales, rows, cols, group, scratch + <usize>u * qStride, sx, yu);
      }
      continue;
    }
    if (sx0 == 0 && sx1 == 0 && sx2 == 0 && sx3 == 0) continue;
    // Lanes past m repeat timestep 0 and are discarded by addLanes.
    const x0 = scratch;
    const x1 = m > 1 ? scratch + qStride : x0;
    const x2 = m > 2 ? scratch + 2 * qStride : x0;
    const x3 = m > 3 ? scratch + 3 * qStride : x0;
    const sxv = pack4f(sx0, sx1, sx2, sx3);
    for (let r = 0; r < rows; r++) {
      const s = dotRowX4(w + <usize>r * stride, scales + <usize>r * sStride, x0, x1, x2, x3, cols, group, bits);
      addLanes(yt + (<usize>r << 2), yStride, f32x4.mul(s, sxv), m);
    }
  }
}

// @ts-ignore: decorator
@inline function gatherQ(w: usize, scales: usize, cols: i32, group: i32, row: i32, out: usize, bits: i32): void {
  if (cols <= 0) return;
  const p = w + <usize>row * rowStride(cols, bits);
  const gpr = (cols - 1) / group + 1;
  const s = scales + (<usize>row * <usize>gpr << 2);
  let gi: usize = 0;
  for (let g0 = 0; g0 < cols; g0 += group) {
    const g1 = min(cols, g0 + group);
    const sc = load<f32>(s + gi);
    gi += 4;
    for (let c = g0; c < g1; c++) store<f32>(out + (<usize>c << 2), <f32>code(p, c, bits) * sc);
  }
}

/**
 * W: (rows, cols) int8 codes, scales (rows · ⌈cols/group⌉) f32; x: (cols) f32; y: (rows) += W·x. `copy`:
 * q8_interleave's copy of W, or 0 (the rows as stored).
 */
export function matvec_q8(
  w: usize, scales: usize, rows: i32, cols: i32, group: i32, x: usize, y: usize, scratch: usize, copy: usize,
): void {
  matvecQ(w, scales, rows, cols, group, x, y, scratch, 8, copy);
}

/**
 * As matvec_q8 with W as int4 codes (row stride ⌈cols/2⌉ bytes, low nibble first). `prep`: q4_prepare's
 * table of W (read instead of W for groups of 2..8184 columns, see "int4 over q4_prepare's table"), or 0.
 */
export function matvec_q4(
  w: usize, scales: usize, rows: i32, cols: i32, group: i32, x: usize, y: usize, scratch: usize, prep: usize,
): void {
  matvecQ(w, scales, rows, cols, group, x, y, scratch, 4, prep);
}

/** W as matvec_q8; X: (n, cols) f32; Y: (n, rows) += X·Wᵀ. W is read once per four timesteps. */
export function matmat_q8(w: usize, scales: usize, rows: i32, cols: i32, group: i32, x: usize, n: i32, y: usize, scratch: usize): void {
  matmatQ(w, scales, rows, cols, group, x, n, y, scratch, 8);
}

/**
 * As matmat_q8 with W as int4 codes. `prep` as matvec_q4's: where it is read, one matvec over the table per
 * timestep (decoder 10000 × 200 g32, 16 timesteps: 155 against 335 µs per timestep for one row × four
 * timesteps over W as stored, which loads each x four times per row).
 */
export function matmat_q4(
  w: usize, scales: usize, rows: i32, cols: i32, group: i32, x: usize, n: i32, y: usize, scratch: usize, prep: usize,
): void {
  if (prep != 0 && rows > 0 && cols > 0 && q4PreparedFits(cols, group)) {
    for (let t = 0; t < n; t++) {
      const xt = x + <usize>t * (<usize>cols << 2);
      matvecQ4Prepared(w, scales, prep, rows, cols, group, xt, y + <usize>t * (<usize>rows << 2), scratch);
    }
    return;
  }
  matmatQ(w, scales, rows, cols, group, x, n, y, scratch, 4);
}

/** out: (cols) f32 ← row `row` of an int8 matrix: q · scale. */
export function gather_q8(w: usize, scales: usize, cols: i32, group: i32, row: i32, out: usize): void {
  gatherQ(w, scales, cols, group, row, out, 8);
}

/** out: (cols) f32 ← row `row` of an int4 matrix: q · scale. */
export function gather_q4(w: usize, scales: usize, cols: i32, group: i32, row: i32, out: usize): void {
  gatherQ(w, scales, cols, group, row, out, 4);
}
