// Dot-product building blocks shared by matvec.ts and matmat.ts. Each computes FOUR dot products at once
// and returns them packed as f32x4 [s0, s1, s2, s3], so a caller either streams four weight rows past one
// activation vector (matvec) or one weight row past four activation vectors (matmat); the operand used
// four times is loaded once. Lengths need no particular multiple: the last n % 4 (f32) or n % 8 (f16)
// elements take a shorter path, and nothing outside [p, p + n) is ever read. No alignment is required
// (v128.load tolerates any address); 16-byte-aligned rows are merely a little faster.

import {
  f16Even,
  f16EvenMask,
  f16Odd,
  f16OddMask,
  f16ToF32,
  f16x8High,
  f16x8Low,
} from "./f16";
import { opaqueZero } from "./loop_constant";

/** [Σa0, Σa1, Σa2, Σa3] — the horizontal sums of four f32x4 accumulators, packed. */
// @ts-ignore: decorator
@inline export function hsum4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  // u01 = [a0₀+a0₂, a1₀+a1₂, a0₁+a0₃, a1₁+a1₃], likewise u23.
  const u01 = f32x4.add(f32x4.shuffle(a0, a1, 0, 4, 1, 5), f32x4.shuffle(a0, a1, 2, 6, 3, 7));
  const u23 = f32x4.add(f32x4.shuffle(a2, a3, 0, 4, 1, 5), f32x4.shuffle(a2, a3, 2, 6, 3, 7));
  return f32x4.add(f32x4.shuffle(u01, u23, 0, 1, 4, 5), f32x4.shuffle(u01, u23, 2, 3, 6, 7));
}

/** [Σa0, Σa1, Σa2, Σa3] of four i32x4 accumulators, packed (exact, as hsum4 for integers). */
// @ts-ignore: decorator
@inline export function hsum4i(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const u01 = i32x4.add(i32x4.shuffle(a0, a1, 0, 4, 1, 5), i32x4.shuffle(a0, a1, 2, 6, 3, 7));
  const u23 = i32x4.add(i32x4.shuffle(a2, a3, 0, 4, 1, 5), i32x4.shuffle(a2, a3, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(u01, u23, 0, 1, 4, 5), i32x4.shuffle(u01, u23, 2, 3, 6, 7));
}

/** f32x4 [v0, v1, v2, v3] from four scalars. */
// @ts-ignore: decorator
@inline export function pack4(v0: f32, v1: f32, v2: f32, v3: f32): v128 {
  return f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(v0), 1, v1), 2, v2), 3, v3);
}

/**
 * p0..p3: four f32 vectors (n), q: one f32 vector (n) → [p0·q, p1·q, p2·q, p3·q].
 * matvec passes four rows of W as p and x as q; matmat passes one row of W as q and four rows of X as p.
 */
export function dot4_f32(p0: usize, p1: usize, p2: usize, p3: usize, q: usize, n: i32): v128 {
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  let c = 0;
  for (; c + 4 <= n; c += 4) {
    const off = <usize>c << 2;
    const qv = v128.load(q + off);
    a0 = f32x4.add(a0, f32x4.mul(v128.load(p0 + off), qv));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(p1 + off), qv));
    a2 = f32x4.add(a2, f32x4.mul(v128.load(p2 + off), qv));
    a3 = f32x4.add(a3, f32x4.mul(v128.load(p3 + off), qv));
  }
  let s = hsum4(a0, a1, a2, a3);
  for (; c < n; c++) {
    const off = <usize>c << 2;
    const pv = pack4(load<f32>(p0 + off), load<f32>(p1 + off), load<f32>(p2 + off), load<f32>(p3 + off));
    s = f32x4.add(s, f32x4.mul(pv, f32x4.splat(load<f32>(q + off))));
  }
  return s;
}

/**
 * p: one f32 vector (n), q: one f32 vector (n) → p·q. Four independent f32x4 accumulators over 16 elements a
 * step, so one row is read as one sequential stream: for matvec over short rows (PTB's 200 columns) the
 * hardware prefetcher keeps up with one stream where four interleaved row streams (dot4_f32) stall on memory.
 */
export function dot1_f32(p: usize, q: usize, n: i32): f32 {
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  let c = 0;
  for (; c + 16 <= n; c += 16) {
    const off = <usize>c << 2;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(p + off), v128.load(q + off)));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(p + off, 16), v128.load(q + off, 16)));
    a2 = f32x4.add(a2, f32x4.mul(v128.load(p + off, 32), v128.load(q + off, 32)));
    a3 = f32x4.add(a3, f32x4.mul(v128.load(p + off, 48), v128.load(q + off, 48)));
  }
  for (; c + 4 <= n; c += 4) {
    const off = <usize>c << 2;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(p + off), v128.load(q + off)));
  }
  const a = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
  let s = f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) +
    f32x4.extract_lane(a, 3);
  for (; c < n; c++) s += load<f32>(p + (<usize>c << 2)) * load<f32>(q + (<usize>c << 2));
  return s;
}

/** s + [p0·x, p1·x, p2·x, p3·x] over columns c..n−1 (the tail after the SIMD part), exact f16. */
// @ts-ignore: decorator
@inline export function tailF16Rows(s: v128, p0: usize, p1: usize, p2: usize, p3: usize, x: usize, c: i32, n: i32): v128 {
  for (; c < n; c++) {
    const o16 = <usize>c << 1;
    const pv = pack4(
      f16ToF32(load<u16>(p0 + o16)),
      f16ToF32(load<u16>(p1 + o16)),
      f16ToF32(load<u16>(p2 + o16)),
      f16ToF32(load<u16>(p3 + o16)),
    );
    s = f32x4.add(s, f32x4.mul(pv, f32x4.splat(load<f32>(x + (<usize>c << 2)))));
  }
  return s;
}

/** s + [w·x0, w·x1, w·x2, w·x3] over columns c..n−1 (the tail after the SIMD part), exact f16. */
// @ts-ignore: decorator
@inline export function tailF16Row(s: v128, w: usize, x0: usize, x1: usize, x2: usize, x3: usize, c: i32, n: i32): v128 {
  for (; c < n; c++) {
    const o32 = <usize>c << 2;
    const xv = pack4(load<f32>(x0 + o32), load<f32>(x1 + o32), load<f32>(x2 + o32), load<f32>(x3 + o32));
    s = f32x4.add(s, f32x4.mul(xv, f32x4.splat(f16ToF32(load<u16>(w + (<usize>c << 1))))));
  }
  return s;
}

// @ts-ignore: decorator
@inline function dot4RowsF16Exact(p0: usize, p1: usize, p2: usize, p3: usize, x: usize, n: i32): v128 {
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  let c = 0;
  for (; c + 8 <= n; c += 8) {
    const o16 = <usize>c << 1;
    const o32 = <usize>c << 2;
    const xl = v128.load(x + o32);
    const xh = v128.load(x + o32, 16);
    const r0 = v128.load(p0 + o16);
    const r1 = v128.load(p1 + o16);
    const r2 = v128.load(p2 + o16);
    const r3 = v128.load(p3 + o16);
    a0 = f32x4.add(f32x4.add(a0, f32x4.mul(f16x8Low(r0, true), xl)), f32x4.mul(f16x8High(r0, true), xh));
    a1 = f32x4.add(f32x4.add(a1, f32x4.mul(f16x8Low(r1, true), xl)), f32x4.mul(f16x8High(r1, true), xh));
    a2 = f32x4.add(f32x4.add(a2, f32x4.mul(f16x8Low(r2, true), xl)), f32x4.mul(f16x8High(r2, true), xh));
    a3 = f32x4.add(f32x4.add(a3, f32x4.mul(f16x8Low(r3, true), xl)), f32x4.mul(f16x8High(r3, true), xh));
  }
  if (c + 4 <= n) {
    const o16 = <usize>c << 1;
    const xl = v128.load(x + (<usize>c << 2));
    const r0 = v128.load64_zero(p0 + o16);
    const r1 = v128.load64_zero(p1 + o16);
    const r2 = v128.load64_zero(p2 + o16);
    const r3 = v128.load64_zero(p3 + o16);
    a0 = f32x4.add(a0, f32x4.mul(f16x8Low(r0, true), xl));
    a1 = f32x4.add(a1, f32x4.mul(f16x8Low(r1, true), xl));
    a2 = f32x4.add(a2, f32x4.mul(f16x8Low(r2, true), xl));
    a3 = f32x4.add(a3, f32x4.mul(f16x8Low(r3, true), xl));
    c += 4;
  }
  return tailF16Rows(hsum4(a0, a1, a2, a3), p0, p1, p2, p3, x, c, n);
}

/**
 * p0..p3: four f16 rows (n), x: f32 (n) → [p0·x, p1·x, p2·x, p3·x], exact for any halves (Inf/NaN too):
 * the path for matrices that hold Inf/NaN or an x too large to prepare (the prepared path is the fast one).
 */
export function dot4RowsF16(p0: usize, p1: usize, p2: usize, p3: usize, x: usize, n: i32): v128 {
  return dot4RowsF16Exact(p0, p1, p2, p3, x, n);
}

// @ts-ignore: decorator
@inline function dotRowF16X4Exact(w: usize, x0: usize, x1: usize, x2: usize, x3: usize, n: i32): v128 {
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  let c = 0;
  for (; c + 8 <= n; c += 8) {
    const o32 = <usize>c << 2;
    const r = v128.load(w + (<usize>c << 1));
    const lo = f16x8Low(r, true);
    const hi = f16x8High(r, true);
    a0 = f32x4.add(f32x4.add(a0, f32x4.mul(lo, v128.load(x0 + o32))), f32x4.mul(hi, v128.load(x0 + o32, 16)));
    a1 = f32x4.add(f32x4.add(a1, f32x4.mul(lo, v128.load(x1 + o32))), f32x4.mul(hi, v128.load(x1 + o32, 16)));
    a2 = f32x4.add(f32x4.add(a2, f32x4.mul(lo, v128.load(x2 + o32))), f32x4.mul(hi, v128.load(x2 + o32, 16)));
    a3 = f32x4.add(f32x4.add(a3, f32x4.mul(lo, v128.load(x3 + o32))), f32x4.mul(hi, v128.load(x3 + o32, 16)));
  }
  if (c + 4 <= n) {
    const o32 = <usize>c << 2;
    const r = v128.load64_zero(w + (<usize>c << 1));
    const lo = f16x8Low(r, true);
    a0 = f32x4.add(a0, f32x4.mul(lo, v128.load(x0 + o32)));
    a1 = f32x4.add(a1, f32x4.mul(lo, v128.load(x1 + o32)));
    a2 = f32x4.add(a2, f32x4.mul(lo, v128.load(x2 + o32)));
    a3 = f32x4.add(a3, f32x4.mul(lo, v128.load(x3 + o32)));
    c += 4;
  }
  return tailF16Row(hsum4(a0, a1, a2, a3), w, x0, x1, x2, x3, c, n);
}

/** w: one f16 row (n), x0..x3: four f32 vectors (n) → [w·x0, w·x1, w·x2, w·x3], exact as dot4RowsF16. */
export function dotRowF16X4(w: usize, x0: usize, x1: usize, x2: usize, x3: usize, n: i32): v128 {
  return dotRowF16X4Exact(w, x0, x1, x2, x3, n);
}

/**
 * Four f16 rows (n) free of Inf/NaN → [p0·x, p1·x, p2·x, p3·x], xs: x prepared by prepareF16X, x: x itself.
 * Column c's 8-half chunk of row i is read at p_i + (c << shift): shift 1 for rows as stored (p_i the rows),
 * 3 for f16_interleave's copy (p_i = the quad's chunks + 16 · i); the last n % 8 columns from the rows t0..t3.
 */
export function dot4RowsF16Prepared(
  p0: usize, p1: usize, p2: usize, p3: usize, shift: i32, xs: usize,
  t0: usize, t1: usize, t2: usize, t3: usize, x: usize, n: i32,
): v128 {
  const me = f16EvenMask(opaqueZero(n));
  const mo = f16OddMask(opaqueZero(n));
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  let c = 0;
  for (; c + 8 <= n; c += 8) {
    const o16 = <usize>c << shift;
    const xe = v128.load(xs + (<usize>c << 2));
    const xo = v128.load(xs + (<usize>c << 2), 16);
    const r0 = v128.load(p0 + o16);
    const r1 = v128.load(p1 + o16);
    const r2 = v128.load(p2 + o16);
    const r3 = v128.load(p3 + o16);
    a0 = f32x4.add(f32x4.add(a0, f32x4.mul(f16Even(r0, me), xe)), f32x4.mul(f16Odd(r0, mo), xo));
    a1 = f32x4.add(f32x4.add(a1, f32x4.mul(f16Even(r1, me), xe)), f32x4.mul(f16Odd(r1, mo), xo));
    a2 = f32x4.add(f32x4.add(a2, f32x4.mul(f16Even(r2, me), xe)), f32x4.mul(f16Odd(r2, mo), xo));
    a3 = f32x4.add(f32x4.add(a3, f32x4.mul(f16Even(r3, me), xe)), f32x4.mul(f16Odd(r3, mo), xo));
  }
  return tailF16Rows(hsum4(a0, a1, a2, a3), t0, t1, t2, t3, x, c, n);
}

/** Adds the first `m` (0..4) lanes of `s` to the f32 values at dst, dst + step, dst + 2·step, … */
// @ts-ignore: decorator
@inline export function addLanes(dst: usize, step: usize, s: v128, m: i32): void {
  if (m > 0) store<f32>(dst, load<f32>(dst) + f32x4.extract_lane(s, 0));
  if (m > 1) store<f32>(dst + step, load<f32>(dst + step) + f32x4.extract_lane(s, 1));
  if (m > 2) store<f32>(dst + 2 * step, load<f32>(dst + 2 * step) + f32x4.extract_lane(s, 2));
  if (m > 3) store<f32>(dst + 3 * step, load<f32>(dst + 3 * step) + f32x4.extract_lane(s, 3));
}

/** y[r0 ..] += the first min(4, rows − r0) lanes of v (a quad of rows' sums; rows − r0 ≥ 1). */
// @ts-ignore: decorator
@inline export function addQuad(y: usize, r0: i32, rows: i32, v: v128): void {
  const dst = y + (<usize>r0 << 2);
  const k = rows - r0;
  if (k >= 4) v128.store(dst, f32x4.add(v128.load(dst), v));
  else addLanes(dst, 4, v, k);
}
