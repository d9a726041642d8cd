// Entry point of kernels_relaxed.wasm: the int8/int4 products of quantized.ts again, with relaxed SIMD's
// i8 × i7 dot product (x86: pmaddubsw, 16 multiply-adds per instruction; Arm: sdot) instead of widening
// to int16. An optional second module: it imports the memory of kernels.wasm ("env" "memory"), has no
// data of its own and allocates nothing; load it only where WebAssembly.validate accepts it (Deno 2,
// Chromium ≥ 114; not Node 20) and keep kernels.wasm's plain-SIMD products as the fallback.
// Build: deno task build:kernels (runtime/kernels/build.ts) → runtime/kernels/build/kernels_relaxed.wasm.
//
// The dot product's second operand must be 0..127 (other values are implementation-defined), so each
// kernel puts an offset into the operand that it knows the sum of, and subtracts that sum:
// - int8 (`*_q8r`): x is quantized to 7 bits, xq = nearest-even(x · (63 / max|x|)) ∈ [−63, 63], and
//   multiplied as u = xq + 64 ∈ [1, 127] with the codes q (any int8): Σ q·u − 64·Σ q = Σ q·xq. The
//   per-row-group 64·Σ q are computed once per matrix by q8_prepare (see "Prepared tables" below).
// - int4 (`*_q4r`): x is quantized to 8 bits, xq = nearest-even(x · (127 / max|x|)) ∈ [−127, 127], and
//   the codes are the unsigned operand, v = q + 8 = nibble ^ 8 ∈ [0, 15]: Σ v·xq − 8·Σ xq = Σ q·xq, with
//   8·Σ xq per group computed once per x. Any group size but 1 (below cols; the products then return 0:
//   use matvec_q4 of kernels.wasm).
// Prepared tables (once per matrix, by q8_prepare here and kernels.wasm's q4_prepare, into memory the caller
// keeps; layouts in prepared.ts): the int8 offset sums and the scales of both, rows taken in quads, so that a
// pass over four rows loads one v128 of sums and one of scales per group instead of gathering four of each;
// for int4 a copy of the codes biased to v, four rows interleaved. Both products read their
// codes from a copy laid out in the order they read them, one sequential stream instead of eight or
// sixteen rows' streams at once (from memory not in cache, row-major codes took 1.8× as long: the int8
// decoder-shaped product, cold, 72–78 → 41 µs): int8's is kernels.wasm's q8_interleave (whole blocks of
// eight rows per 16 columns, for matvec_q8r's 8-row pass; its other paths and matmat_q8r read W itself).
// Both then sum exactly in integers and scale as quantized.ts does:
//   y[r] += sx · Σ_g scale[r, g] · Σ_{c ∈ g} q[r, c] · xq[c],   sx = max|x| / 63 (int8) or / 127 (int4).
// The activation error is ≤ max|x| / 126 (int8) or / 254 (int4) per element instead of int16's / 65534:
// on the trained PTB model, test perplexity 113.084 → 113.100 (int8) and 115.736 → 115.745 (int4 g32)
// (README.md in runtime/kernels). The integer sums cannot overflow i32 for any cols a file may hold
// (int8: ≤ 4 · 127 · 128 per lane per 16 columns; int4: ≤ 8 · 15 · 127 per lane per 8 columns).
//
// A kernel returns 0 and writes nothing when x (any timestep, for matmat) holds an Inf or NaN: the caller
// then runs kernels.wasm's product, whose exact f32 path handles it. Otherwise it returns 1.
// `scratch` is the same quantizedScratchBytes(cols) = 16 · S bytes (S = ceil32(cols + 8)) as quantized.ts:
// x codes at t · S (int8's matmat: t = 0..3; else t = 0), int4's staging copy at 4 · S and its per-group
// sums of x at 8 · S (one i32 per 16 bytes), int8's sums of whole chunks at 4 · S (≤ 64 bytes). int4's x
// is stored as [4 even | 4 odd] bytes per chunk of 8 columns. matmat_q4r runs matvec_q4r's product once
// per timestep (see there); matmat_q8r passes W once per four timesteps.

// @ts-ignore: decorator

// @ts-ignore: decorator
@inline function xStride(cols: i32): usize {
  return <usize>((cols + 39) & ~31);
}

// @ts-ignore: decorator
@inline function pack4f(v0: f32, v1: f32, v2: f32, v3: f32): v128 {
  return f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(v0), 1, v1), 2, v2), 3, v3);
}

/**
 * max|x| over n f32 (NaN if x holds a NaN; +Inf if an Inf). Out of line: binaryen would inline a smaller
 * body into each of the dozen products that call it (≈ 2 kB of this module); TT's core-0 step, which calls
 * it per row of A, inlines maxAbsOf itself.
 */
function maxAbs(x: usize, n: i32): f32 {
  return maxAbsOf(x, n);
}

/** maxAbs's body, inlined where it is called in a loop. */
// @ts-ignore: decorator
@inline function maxAbsOf(x: usize, n: i32): f32 {
  let mv = f32x4.splat(0);
  let mw = mv;
  let c = 0;
  for (; c + 8 <= n; c += 8) {
    const p = x + (<usize>c << 2);
    mv = f32x4.max(mv, f32x4.abs(v128.load(p)));
    mw = f32x4.max(mw, f32x4.abs(v128.load(p, 16)));
  }
  mv = f32x4.max(mv, mw);
  if (c + 4 <= n) {
    mv = f32x4.max(mv, f32x4.abs(v128.load(x + (<usize>c << 2))));
    c += 4;
  }
  let m = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  for (; c < n; c++) m = max(m, abs(load<f32>(x + (<usize>c << 2))));
  return m;
}

/**
 * x (n f32, max|x| = m > 0, finite) → n int8 codes at out: nearest-even(x · (levels / m)) + offset.
 * Returns the scale m / levels.
 */
function quantize8(x: usize, n: i32, m: f32, levels: f32, offset: i32, out: usize): f32 {
  const inv: f32 = levels / m;
  const invv = f32x4.splat(inv);
  const off = i16x8.splat(<i16>offset);
  let c = 0;
  for (; c + 8 <= n; c += 8) {
    const s = x + (<usize>c << 2);
    const lo = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(s), invv)));
    const hi = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(s, 16), invv)));
    const h = i16x8.add(i16x8.narrow_i32x4_s(lo, hi), off);
    v128.store64_lane(out + <usize>c, i8x16.narrow_i16x8_s(h, h), 0);
  }
  for (; c < n; c++) {
    store<i8>(out + <usize>c, <i8>(<i32>nearest<f32>(load<f32>(x + (<usize>c << 2)) * inv) + offset));
  }
  return m / levels;
}

/** Σ of the 16 int8 lanes of v, as the 4 lanes of an i32x4 (to be added up later). */
// @ts-ignore: decorator
@inline function sum8(v: v128): v128 {
  return i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(v));
}

/** Whether x (n f32) is all finite. */
function allFinite(x: usize, n: i32): bool {
  return maxAbs(x, n) <= F32.MAX_VALUE;
}

// ---- int8 ----------------------------------------------------------------------------------------

import { q8Interleaved } from "./quantized";
import { chunksPerGroup, prepareScales, prepOffset, q4Chunks } from "./prepared";

/**
 * Prepares an int8 matrix for *_q8r, once: at `out`, 2 · ⌈rows/4⌉ · 4 · ⌈cols/group⌉ values
 * (preparedTableBytes): the offset sums 64 · Σ_{c ∈ g} q[r, c] (i32), then the scales (f32), both in the
 * prepared layout. (The copy of the codes that matvec_q8r's 8-row pass reads is kernels.wasm's
 * q8_interleave, shared with the plain product.)
 */
export function q8_prepare(w: usize, scales: usize, rows: i32, cols: i32, group: i32, out: usize): void {
  if (rows <= 0 || cols <= 0) return;
  const gpr = (cols - 1) / group + 1;
  const half = <usize>((rows + 3) >> 2) * <usize>gpr << 4;
  memory.fill(out, 0, half);
  for (let r = 0; r < rows; r++) {
    const p = w + <usize>r * <usize>cols;
    let g = 0;
    for (let g0 = 0; g0 < cols; g0 += group) {
      const g1 = min(cols, g0 + group);
      let sv = i32x4.splat(0);
      let c = g0;
      for (; c + 16 <= g1; c += 16) sv = i32x4.add(sv, sum8(v128.load(p + <usize>c)));
      let sum = i32x4.extract_lane(sv, 0) + i32x4.extract_lane(sv, 1) + i32x4.extract_lane(sv, 2) + i32x4.extract_lane(sv, 3);
      for (; c < g1; c++) sum += <i32>load<i8>(p + <usize>c);
      store<i32>(out + prepOffset(r, g, gpr), sum << 6);
      g++;
    }
  }
  prepareScales(scales, rows, gpr, out + half, false);
}

/** Four rows (p0..p3) · u (x + 64, column order) over columns [g0, g1): i32x4 [Σ q·u per row]. */
// @ts-ignore: decorator
@inline function dot4RowsQ8(p0: usize, p1: usize, p2: usize, p3: usize, u: usize, g0: i32, g1: i32): v128 {
  let a0 = i32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  let c = g0;
  for (; c + 16 <= g1; c += 16) {
    const xv = v128.load(u + <usize>c);
    const o = <usize>c;
    a0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(p0 + o), xv, a0);
    a1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(p1 + o), xv, a1);
    a2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(p2 + o), xv, a2);
    a3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(p3 + o), xv, a3);
  }
  if (c + 8 <= g1) {
    const xv = v128.load64_zero(u + <usize>c);
    const o = <usize>c;
    a0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load64_zero(p0 + o), xv, a0);
    a1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load64_zero(p1 + o), xv, a1);
    a2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load64_zero(p2 + o), xv, a2);
    a3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load64_zero(p3 + o), xv, a3);
    c += 8;
  }
  let t = hsum4i(a0, a1, a2, a3);
  if (c < g1) {
    let t0 = 0;
    let t1 = 0;
    let t2 = 0;
    let t3 = 0;
    for (; c < g1; c++) {
      const xv = <i32>load<u8>(u + <usize>c);
      const o = <usize>c;
      t0 += <i32>load<i8>(p0 + o) * xv;
      t1 += <i32>load<i8>(p1 + o) * xv;
      t2 += <i32>load<i8>(p2 + o) * xv;
      t3 += <i32>load<i8>(p3 + o) * xv;
    }
    t = i32x4.add(t, i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(t0), 1, t1), 2, t2), 3, t3));
  }
  return t;
}

/**
 * acc (i32x4) + Σ q·u per 4 bytes of w (q, int8) and u (x + 64): the relaxed i32 dot product, or where S
 * is i16 (x86 without VNNI: dotSumsMode) the i16 one (pmaddubsw) widened by pmaddwd with `ones` held in a
 * register — V8 lowers the i32 one there to pmaddubsw + pmaddwd + add and rebuilds that vector of ones
 * (two more instructions) at every use. A lane pair sums ≤ 2 · 128 · 127 = 32512: the i16 step cannot
 * saturate, and both give the same sums. (A type parameter, not a bool: binaryen merges two inlined
 * copies that differ only in a constant into one that tests it at every dot product.)
 */
// @ts-ignore: decorator
@inline function dotQ8r<S>(acc: v128, w: v128, u: v128, ones: v128): v128 {
  if (sizeof<S>() == 2) return i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(w, u), ones));
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(w, u, acc);
}

/**
 * One group of matvec_q8r's eight-row pass: eight rows of q8_interleave's copy from o (128 bytes per 16
 * columns) over columns [c, g1) against the x codes at u; their sums Σ q·u go to sums (2 × i32x4).
 */
// @ts-ignore: decorator
@inline function q8Group8<S>(o: usize, u: usize, c: i32, g1: i32, ones: v128, sums: usize): void {
  let a0 = i32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  let a4 = a0;
  let a5 = a0;
  let a6 = a0;
  let a7 = a0;
  for (; c + 16 <= g1; c += 16) {
    const xv = v128.load(u + <usize>c);
    a0 = dotQ8r<S>(a0, v128.load(o), xv, ones);
    a1 = dotQ8r<S>(a1, v128.load(o, 16), xv, ones);
    a2 = dotQ8r<S>(a2, v128.load(o, 32), xv, ones);
    a3 = dotQ8r<S>(a3, v128.load(o, 48), xv, ones);
    a4 = dotQ8r<S>(a4, v128.load(o, 64), xv, ones);
    a5 = dotQ8r<S>(a5, v128.load(o, 80), xv, ones);
    a6 = dotQ8r<S>(a6, v128.load(o, 96), xv, ones);
    a7 = dotQ8r<S>(a7, v128.load(o, 112), xv, ones);
    o += 128;
  }
  if (c < g1) {
    // The row's last 8 columns: the first half of its padded chunk.
    const xv = v128.load64_zero(u + <usize>c);
    a0 = dotQ8r<S>(a0, v128.load64_zero(o), xv, ones);
    a1 = dotQ8r<S>(a1, v128.load64_zero(o, 16), xv, ones);
    a2 = dotQ8r<S>(a2, v128.load64_zero(o, 32), xv, ones);
    a3 = dotQ8r<S>(a3, v128.load64_zero(o, 48), xv, ones);
    a4 = dotQ8r<S>(a4, v128.load64_zero(o, 64), xv, ones);
    a5 = dotQ8r<S>(a5, v128.load64_zero(o, 80), xv, ones);
    a6 = dotQ8r<S>(a6, v128.load64_zero(o, 96), xv, ones);
    a7 = dotQ8r<S>(a7, v128.load64_zero(o, 112), xv, ones);
  }
  v128.store(sums, hsum4i(a0, a1, a2, a3));
  v128.store(sums, hsum4i(a4, a5, a6, a7), 16);
}

/**
 * W: (rows, cols) int8 codes prepared by q8_prepare into `prep`; x: (cols) f32; y: (rows) += W·x with x
 * quantized to 7 bits (see the top); `copy`: kernels.wasm's q8_interleave copy of W (whole blocks of eight
 * rows then run eight per pass), or 0. Returns 0 (nothing written) if x is not finite.
 */
export function matvec_q8r(
  w: usize, prep: usize, rows: i32, cols: i32, group: i32, x: usize, y: usize, scratch: usize, copy: usize,
): i32 {
  if (rows <= 0 || cols <= 0) return 1;
  const m = maxAbs(x, cols);
  if (!(m <= F32.MAX_VALUE)) return 0;
  if (m == 0) return 1;
  const sx = quantize8(x, cols, m, 63, 64, scratch);
  const gpr = (cols - 1) / group + 1;
  const stride = <usize>cols;
  const sxv = f32x4.splat(sx);
  const half = <usize>((rows + 3) >> 2) * <usize>gpr << 4;
  let pq = prep; // this quad's (sums, scales) per group
  let r = 0;
  // Eight rows per pass share each load of x, reading q8_interleave's copy: one sequential stream.
  if (copy && q8Interleaved(cols, group)) {
    const chunks = <usize>((cols + 15) >> 4);
    const i16 = i16Sums();
    const ones = keptI32x4(0x00010001, opaqueZero(rows)); // in a register: loop_constant.ts
    const sums = scratch + 4 * xStride(cols); // free in a matrix × vector product (see the top)
    let pb = copy;
    for (; r + 8 <= rows; r += 8) {
      let fa = f32x4.splat(0);
      let fb = fa;
      for (let g0 = 0; g0 < cols; g0 += group) {
        const g1 = min(cols, g0 + group);
        const o = pb + (<usize>(g0 >> 4) << 7);
        if (i16) q8Group8<i16>(o, scratch, g0, g1, ones, sums);
        else q8Group8<i32>(o, scratch, g0, g1, ones, sums);
        const ta = v128.load(sums);
        const tb = v128.load(sums, 16);
        fa = f32x4.add(fa, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(ta, v128.load(pq))), v128.load(pq + half)));
        const pq2 = pq + (<usize>gpr << 4); // the second quad's
        fb = f32x4.add(fb, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(tb, v128.load(pq2))), v128.load(pq2 + half)));
        pq += 16;
      }
      pq += <usize>gpr << 4; // past the second quad's groups
      pb += chunks << 7;
      const dst = y + (<usize>r << 2);
      v128.store(dst, f32x4.add(v128.load(dst), f32x4.mul(fa, sxv)));
      v128.store(dst, f32x4.add(v128.load(dst, 16), f32x4.mul(fb, sxv)), 16);
    }
  }
  for (; r < rows; r += 4) {
    const k = min(4, rows - r);
    const p0 = w + <usize>r * stride;
    const p1 = k > 1 ? p0 + stride : p0;
    const p2 = k > 2 ? p0 + 2 * stride : p0;
    const p3 = k > 3 ? p0 + 3 * stride : p0;
    let f = f32x4.splat(0);
    for (let g0 = 0; g0 < cols; g0 += group) {
      const t = dot4RowsQ8(p0, p1, p2, p3, scratch, g0, min(cols, g0 + group));
      f = f32x4.add(f, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(t, v128.load(pq))), v128.load(pq + half)));
      pq += 16;
    }
    const dst = y + (<usize>r << 2);
    if (k == 4) v128.store(dst, f32x4.add(v128.load(dst), f32x4.mul(f, sxv)));
    else addLanes(dst, 4, f32x4.mul(f, sxv), k);
  }
  return 1;
}

/** W as matvec_q8r; X: (n, cols); Y: (n, rows) += X·Wᵀ, four timesteps per pass over W. */
export function matmat_q8r(
  w: usize, prep: usize, rows: i32, cols: i32, group: i32, x: usize, n: i32, y: usize, scratch: usize,
): i32 {
  if (rows <= 0 || cols <= 0 || n <= 0) return 1;
  if (!allFinite(x, n * cols)) return 0;
  const gpr = (cols - 1) / group + 1;
  const stride = <usize>cols;
  const xsF = <usize>cols << 2;
  const ys = <usize>rows << 2;
  const S = xStride(cols);
  const i16 = i16Sums();
  const ones = keptI32x4(0x00010001, opaqueZero(rows)); // in a register: loop_constant.ts
  const sums = scratch + 4 * S; // free here (x codes at t · S, t < 4)
  for (let t = 0; t < n; t += 4) {
    const k = min(4, n - t);
    const xt = x + <usize>t * xsF;
    // A zero timestep gets sx = 0 and codes 64 (xq = 0): it adds 0.
    let sx0: f32 = 0;
    let sx1: f32 = 0;
    let sx2: f32 = 0;
    let sx3: f32 = 0;
    for (let u = 0; u < k; u++) {
      const xu = xt + <usize>u * xsF;
      const m = maxAbs(xu, cols);
      let s: f32 = 0;
      if (m > 0) s = quantize8(xu, cols, m, 63, 64, scratch + <usize>u * S);
      else memory.fill(scratch + <usize>u * S, 64, <usize>cols);
      if (u == 0) sx0 = s;
      else if (u == 1) sx1 = s;
      else if (u == 2) sx2 = s;
      else sx3 = s;
    }
    if (sx0 == 0 && sx1 == 0 && sx2 == 0 && sx3 == 0) continue;
    const u0 = scratch;
    const u1 = k > 1 ? scratch + S : u0;
    const u2 = k > 2 ? scratch + 2 * S : u0;
    const u3 = k > 3 ? scratch + 3 * S : u0;
    const sxv = pack4f(sx0, sx1, sx2, sx3);
    const yt = y + <usize>t * ys;
    const half = <usize>((rows + 3) >> 2) * <usize>gpr << 4;
    for (let r = 0; r < rows; r++) {
      const p = w + <usize>r * stride;
      let f = f32x4.splat(0);
      let o = prep + prepOffset(r, 0, gpr);
      for (let g0 = 0; g0 < cols; g0 += group) {
        // One row against four timesteps: the same loop as dot4RowsQ8 with the roles swapped.
        const tv = dot4RowsQ8X(p, u0, u1, u2, u3, g0, min(cols, g0 + group), i16, ones, sums);
        const d = i32x4.sub(tv, v128.load32_splat(o));
        f = f32x4.add(f, f32x4.mul(f32x4.convert_i32x4_s(d), v128.load32_splat(o + half)));
        o += 16;
      }
      addLanes(yt + (<usize>r << 2), ys, f32x4.mul(f, sxv), k);
    }
  }
  return 1;
}

/**
 * One row p · four offset vectors u0..u3 over columns [g0, g1): i32x4 [Σ q·u_t]. Its whole 16-column chunks
 * sum by dotQ8r, i16 or i32 (q8Chunks4X), the rest by i32 dot products.
 */
// @ts-ignore: decorator
@inline function dot4RowsQ8X(
  p: usize, u0: usize, u1: usize, u2: usize, u3: usize, g0: i32, g1: i32, i16: bool, ones: v128, sums: usize,
): v128 {
  let c = i16
    ? q8Chunks4X<i16>(p, u0, u1, u2, u3, g0, g1, ones, sums)
    : q8Chunks4X<i32>(p, u0, u1, u2, u3, g0, g1, ones, sums);
  let a0 = v128.load(sums);
  let a1 = v128.load(sums, 16);
  let a2 = v128.load(sums, 32);
  let a3 = v128.load(sums, 48);
  if (c + 8 <= g1) {
    const o = <usize>c;
    const wv = v128.load64_zero(p + o);
    a0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(wv, v128.load64_zero(u0 + o), a0);
    a1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(wv, v128.load64_zero(u1 + o), a1);
    a2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(wv, v128.load64_zero(u2 + o), a2);
    a3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(wv, v128.load64_zero(u3 + o), a3);
    c += 8;
  }
  let t = hsum4i(a0, a1, a2, a3);
  if (c < g1) {
    let t0 = 0;
    let t1 = 0;
    let t2 = 0;
    let t3 = 0;
    for (; c < g1; c++) {
      const o = <usize>c;
      const q = <i32>load<i8>(p + o);
      t0 += q * <i32>load<u8>(u0 + o);
      t1 += q * <i32>load<u8>(u1 + o);
      t2 += q * <i32>load<u8>(u2 + o);
      t3 += q * <i32>load<u8>(u3 + o);
    }
    t = i32x4.add(t, i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(t0), 1, t1), 2, t2), 3, t3));
  }
  return t;
}

/** dot4RowsQ8X's whole 16-column chunks from c: the four sums to `sums` (4 × i32x4); returns c past them. */
// @ts-ignore: decorator
@inline function q8Chunks4X<S>(
  p: usize, u0: usize, u1: usize, u2: usize, u3: usize, c: i32, g1: i32, ones: v128, sums: usize,
): i32 {
  let a0 = i32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  for (; c + 16 <= g1; c += 16) {
    const o = <usize>c;
    const wv = v128.load(p + o);
    a0 = dotQ8r<S>(a0, wv, v128.load(u0 + o), ones);
    a1 = dotQ8r<S>(a1, wv, v128.load(u1 + o), ones);
    a2 = dotQ8r<S>(a2, wv, v128.load(u2 + o), ones);
    a3 = dotQ8r<S>(a3, wv, v128.load(u3 + o), ones);
  }
  v128.store(sums, a0);
  v128.store(sums, a1, 16);
  v128.store(sums, a2, 32);
  v128.store(sums, a3, 48);
  return c;
}

// ---- int4 ----------------------------------------------------------------------------------------
// The products read the copy of the codes that kernels.wasm's q4_prepare writes once per matrix (layout in
// prepared.ts: quads of rows, chunks of 8 columns, nibbles biased to v = q + 8). One i8 × i7 dot product of
// a chunk's low (or high) nibbles with its 4 even (or odd) x codes repeated in every lane sums each row of
// the quad in its own i32 lane. Per 32 codes: one load, and + shift + and, two dot products — i32 ones (one
// vpdpbusd each with AVX-VNNI), or on x86 without VNNI i16 ones (pmaddubsw) and two i16 adds, the i16 sums
// widened every four chunks (dotSumsMode).
// x: quantized to 8 bits in column order (the staging copy), then per chunk [4 even | 4 odd] codes at xs
// (zeros in the padding), and corr[16·g] = −8 · Σ_{c ∈ g} xq[c]. Any group size but 1 (below cols): its
// padded x must fit the 4 · S bytes before the staging copy (group 2 pads 2 columns to 8: 4×); with group 1
// the products return 0 and the caller runs matvec_q4 of kernels.wasm. Groups of a multiple of 8 (the
// defaults) pad nothing but the row's end.

/**
 * acc (i32x4) + one chunk of a quad: Σ v·xq per row (lane), the chunk's 16 bytes wb against the even and
 * odd x codes xe, xo (4 bytes, in every lane). Each lane adds ≤ 8 · 15 · 127 = 15240 per chunk.
 */
// @ts-ignore: decorator
@inline function dotQ4r(acc: v128, wb: v128, xe: v128, xo: v128, m4: v128): v128 {
  const lo = v128.and(wb, m4);
  const hi = v128.and(i16x8.shr_u(wb, 4), m4);
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(xo, hi, i32x4.relaxed_dot_i8x16_i7x16_add_s(xe, lo, acc));
}

/**
 * dotQ4r in i16: acc (i16x8) + the chunk's Σ v·xq over each pair of a row's columns per i16 lane (row r in
 * lanes 2r, 2r + 1). Each lane adds ≤ 2 · 2 · 15 · 127 = 7620 per chunk: four chunks fit i16
 * (Q4_I16_CHUNKS).
 */
// @ts-ignore: decorator
@inline function dotQ4r16(acc: v128, wb: v128, xe: v128, xo: v128, m4: v128): v128 {
  const lo = v128.and(wb, m4);
  const hi = v128.and(i16x8.shr_u(wb, 4), m4);
  return i16x8.add(acc, i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(xe, lo), i16x8.relaxed_dot_i8x16_i7x16_s(xo, hi)));
}

/** Chunks whose i16 sums (dotQ4r16) stay below 2^15: 4 · 7620 = 30480. */
const Q4_I16_CHUNKS = 4;

// Which of the two the int4 products use. The i32 dot product is one instruction where the engine has a
// four-way byte dot product (x86 AVX-VNNI vpdpbusd, Arm sdot) but three on x86 without VNNI (pmaddubsw,
// pmaddwd, add), where the i16 one is pmaddubsw alone — and on Arm the i16 one is three (smull, smull2,
// addp). The flavour shows in an out-of-range operand (the relaxed dot product's implementation-defined
// case): 127 · 255 summed by pmaddubsw saturates each pair at 32767 (lane 65534); vpdpbusd gives 129540
// and sdot, reading 255 as −1, −508. Measured on the decoder shape (AMD EPYC without VNNI): i16 sums 0.77–0.86
// of the i32 time; the i32 chain is what ran on AVX-VNNI (30.2–31.4 µs warm there).
let dotSumsMode: i32 = -1; // −1: not decided yet; 0: i32 sums; 1: i16 sums (int4, block-sparse, int8, TT)

/** i32x4.relaxed_dot_i8x16_i7x16_add_s's lane 0 for 127 × 255 in every byte (see above); z = 0, opaque. */
function dotFlavor(z: i32): i32 {
  const a = i8x16.splat(<i8>(127 | z));
  const b = i8x16.splat(<i8>(255 | z));
  return i32x4.extract_lane(i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, i32x4.splat(z)), 0);
}

/** The dot-product flavour probe (for tests and diagnostics): 65534, 129540 or −508, see above. */
export function relaxed_dot_flavor(): i32 {
  return dotFlavor(opaqueZero(0));
}

/**
 * Sets how the int4, block-sparse, int8 and TT products sum: 0 i32 dot products, 1 i16 ones,
 * −1 by the dot-product flavour (the default: i16 where pmaddubsw saturates, that is x86 without VNNI);
 * returns the mode set (0 or 1). Both give the same sums; tests run each.
 */
export function dot_sums(mode: i32): i32 {
  dotSumsMode = mode < 0 ? (dotFlavor(opaqueZero(mode + 1)) == 65534 ? 1 : 0) : min(mode, 1);
  return dotSumsMode;
}

/** Whether the products sum in i16 (dot_sums' mode, decided by the flavour at the first call). */
// @ts-ignore: decorator
@inline function i16Sums(): bool {
  if (dotSumsMode < 0) dot_sums(-1);
  return dotSumsMode != 0;
}

/**
 * int4's x layout: int8 codes at src (n, column order) → dst as [4 even | 4 odd] per chunk of 8 columns of
 * each group (group g from chunk g · ⌈group/8⌉), zeros in the padding; corr[16·g] = −8 · Σ_{c ∈ g} xq[c].
 */
function toChunks(src: usize, dst: usize, n: i32, group: i32, corr: usize): void {
  const step = <usize>chunksPerGroup(n, group) << 3; // x bytes per whole group
  let gi: usize = 0;
  let d = dst;
  for (let g0 = 0; g0 < n; g0 += group) {
    const len = min(n, g0 + group) - g0;
    const s = src + <usize>g0;
    let sv = i32x4.splat(0);
    let c = 0;
    for (; c + 16 <= len; c += 16) {
      const v = v128.load(s + <usize>c);
      v128.store(d + <usize>c, i8x16.shuffle(v, v, 0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15));
      sv = i32x4.add(sv, sum8(v));
    }
    let ss = i32x4.extract_lane(sv, 0) + i32x4.extract_lane(sv, 1) + i32x4.extract_lane(sv, 2) + i32x4.extract_lane(sv, 3);
    for (const end = (len + 7) & ~7; c < end; c++) {
      const j = c & 7;
      const q = c < len ? <i32>load<i8>(s + <usize>c) : 0;
      store<i8>(d + <usize>((c & ~7) + ((j & 1) << 2) + (j >> 1)), <i8>q);
      ss += q;
    }
    store<i32>(corr + gi, -(ss << 3));
    gi += 16;
    d += step;
  }
}

/**
 * W: (rows, cols) int4 as q4_prepare copied it (w: that copy), any group size but 1 below cols, scales
 * prepared by q4_prepare into `prep`; x: (cols) f32; y: (rows) += W·x with x quantized to 8 bits. Returns 0
 * (nothing written) if x is not finite or the group size does not fit the layout. Sixteen rows per pass.
 */
export function matvec_q4r(
  w: usize, prep: usize, rows: i32, cols: i32, group: i32, x: usize, y: usize, scratch: usize,
): i32 {
  if (rows <= 0 || cols <= 0) return 1;
  if (group < 2 && cols > 1) return 0;
  const m = maxAbs(x, cols);
  if (!(m <= F32.MAX_VALUE)) return 0;
  if (m > 0) q4Product(w, prep, rows, cols, group, x, m, y, scratch);
  return 1;
}

/** y (rows) += W·x for matvec_q4r, x finite with max|x| = m > 0. */
function q4Product(
  w: usize, prep: usize, rows: i32, cols: i32, group: i32, x: usize, m: f32, y: usize, scratch: usize,
): void {
  if (i16Sums()) q4ProductWith(w, prep, rows, cols, group, x, m, y, scratch, true);
  else q4ProductWith(w, prep, rows, cols, group, x, m, y, scratch, false);
}

/** q4Product with the groups summed in i16 (`i16`, a constant where inlined) or in i32. */
// @ts-ignore: decorator
@inline function q4ProductWith(
  w: usize, prep: usize, rows: i32, cols: i32, group: i32, x: usize, m: f32, y: usize, scratch: usize, i16: bool,
): void {
  const S = xStride(cols);
  const corr = scratch + 8 * S;
  const xs = scratch;
  const stage = scratch + 4 * S;
  const sx = quantize8(x, cols, m, 127, 0, stage);
  toChunks(stage, xs, cols, group, corr);
  const sxv = f32x4.splat(sx);
  const m4 = keptI8x16(0x0f, opaqueZero(rows)); // in a register: loop_constant.ts
  const chunks = <usize>q4Chunks(cols, group);
  const gpr = (cols - 1) / group + 1;
  const perGroup = <usize>chunksPerGroup(cols, group);
  const quads = (rows + 3) >> 2;
  // One block of four quads per pass: each x load serves 16 rows, the block's four chunks k are 64
  // contiguous bytes and its four quads' scales of a group too (one address, four offsets each). A last
  // block of fewer quads reads zero codes and scales in the others' places and drops their results.
  // The loops walk pointers (the codes c, x's chunk codes xc, the scales sc, the sums cg): per chunk one
  // add each instead of recomputing addresses from counters (the loop is bound by instruction issue).
  let c = w;
  let sc = prep;
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
      // The accumulators start at the group's −8·Σ xq (toChunks), the codes' bias (v = q + 8).
      let a0 = v128.load32_splat(cg);
      let a1 = a0;
      let a2 = a0;
      let a3 = a0;
      // Two loops, not one with the choice inside: written as one (the i32 sums through the same outer
      // loop and copies) it compiled 1.09–1.12× slower for i32 and 1.03–1.04× for i16.
      if (i16) {
        do {
          // Up to Q4_I16_CHUNKS chunks summed in i16 (one multiply per 16 codes instead of i32's two on x86
          // without VNNI), then widened once: pairs of i16 lanes are one row's.
          const stop = min(groupEnd, c + (Q4_I16_CHUNKS << 6));
          let h0 = i16x8.splat(0);
          let h1 = h0;
          let h2 = h0;
          let h3 = h0;
          // Two chunks per pass: one 16-byte load of x serves both.
          for (; c + 128 <= stop; c += 128) {
            const xv = v128.load(xc);
            const xe = i32x4.shuffle(xv, xv, 0, 0, 0, 0);
            const xo = i32x4.shuffle(xv, xv, 1, 1, 1, 1);
            const ye = i32x4.shuffle(xv, xv, 2, 2, 2, 2);
            const yo = i32x4.shuffle(xv, xv, 3, 3, 3, 3);
            h0 = dotQ4r16(dotQ4r16(h0, v128.load(c), xe, xo, m4), v128.load(c, 64), ye, yo, m4);
            h1 = dotQ4r16(dotQ4r16(h1, v128.load(c, 16), xe, xo, m4), v128.load(c, 80), ye, yo, m4);
            h2 = dotQ4r16(dotQ4r16(h2, v128.load(c, 32), xe, xo, m4), v128.load(c, 96), ye, yo, m4);
            h3 = dotQ4r16(dotQ4r16(h3, v128.load(c, 48), xe, xo, m4), v128.load(c, 112), ye, yo, m4);
            xc += 16;
          }
          if (c < stop) {
            const xv = v128.load64_zero(xc);
            const xe = i32x4.shuffle(xv, xv, 0, 0, 0, 0);
            const xo = i32x4.shuffle(xv, xv, 1, 1, 1, 1);
            h0 = dotQ4r16(h0, v128.load(c), xe, xo, m4);
            h1 = dotQ4r16(h1, v128.load(c, 16), xe, xo, m4);
            h2 = dotQ4r16(h2, v128.load(c, 32), xe, xo, m4);
            h3 = dotQ4r16(h3, v128.load(c, 48), xe, xo, m4);
            c += 64;
            xc += 8;
          }
          a0 = i32x4.add(a0, i32x4.extadd_pairwise_i16x8_s(h0));
          a1 = i32x4.add(a1, i32x4.extadd_pairwise_i16x8_s(h1));
          a2 = i32x4.add(a2, i32x4.extadd_pairwise_i16x8_s(h2));
          a3 = i32x4.add(a3, i32x4.extadd_pairwise_i16x8_s(h3));
        } while (c < groupEnd);
      } else {
        do {
          const xv = v128.load64_zero(xc);
          const xe = i32x4.shuffle(xv, xv, 0, 0, 0, 0);
          const xo = i32x4.shuffle(xv, xv, 1, 1, 1, 1);
          a0 = dotQ4r(a0, v128.load(c), xe, xo, m4);
          a1 = dotQ4r(a1, v128.load(c, 16), xe, xo, m4);
          a2 = dotQ4r(a2, v128.load(c, 32), xe, xo, m4);
          a3 = dotQ4r(a3, v128.load(c, 48), xe, xo, m4);
          c += 64;
          xc += 8;
        } while (c < groupEnd);
      }
      f0 = f32x4.add(f0, f32x4.mul(f32x4.convert_i32x4_s(a0), v128.load(sc)));
      f1 = f32x4.add(f1, f32x4.mul(f32x4.convert_i32x4_s(a1), v128.load(sc, 16)));
      f2 = f32x4.add(f2, f32x4.mul(f32x4.convert_i32x4_s(a2), v128.load(sc, 32)));
      f3 = f32x4.add(f3, f32x4.mul(f32x4.convert_i32x4_s(a3), v128.load(sc, 48)));
      sc += 64;
      cg += 16;
    }
    const n = min(4, quads - q);
    const r0 = q << 2;
    addQuad(y, r0, rows, f32x4.mul(f0, sxv));
    if (n > 1) addQuad(y, r0 + 4, rows, f32x4.mul(f1, sxv));
    if (n > 2) addQuad(y, r0 + 8, rows, f32x4.mul(f2, sxv));
    if (n > 3) addQuad(y, r0 + 12, rows, f32x4.mul(f3, sxv));
  }
}

/**
 * W as matvec_q4r; X: (n, cols); Y: (n, rows) += X·Wᵀ: matvec_q4r's product per timestep (it reads W once
 * per timestep, but int4 W is small and one row × four timesteps would load each x four times per row:
 * measured ≈ 1.4× slower).
 */
export function matmat_q4r(
  w: usize, prep: usize, rows: i32, cols: i32, group: i32, x: usize, n: i32, y: usize, scratch: usize,
): i32 {
  if (rows <= 0 || cols <= 0 || n <= 0) return 1;
  if ((group < 2 && cols > 1) || !allFinite(x, n * cols)) return 0;
  const xs = <usize>cols << 2;
  const ys = <usize>rows << 2;
  for (let t = 0; t < n; t++) {
    const xt = x + <usize>t * xs;
    const m = maxAbs(xt, cols);
    if (m > 0) q4Product(w, prep, rows, cols, group, xt, m, y + <usize>t * ys, scratch);
  }
  return 1;
}

// ---- f16 products with fused multiply-adds ----
// kernels.wasm's fast f16 path (f16.ts: x prepared as x · 2^112, even/odd columns; 5 ops decode 8 halves)
// with f32x4.relaxed_madd for each product and sum: 8 instructions per 8 weights instead of 10 (x86 FMA:
// vfmadd; the rounding of a fused multiply-add, so results differ from the plain path by float rounding).
// Weights must be free of Inf/NaN (the caller checks them once with kernels.wasm's f16_finite).

import { f16Even, f16EvenMask, f16Odd, f16OddMask, prepareF16X } from "./f16";
import { addLanes, addQuad, hsum4, hsum4i, tailF16Rows } from "./dot";
import { keptI32x4, keptI8x16, opaqueZero } from "./loop_constant";

/** [p0·x, p1·x, p2·x, p3·x] for four f16 rows free of Inf/NaN, x prepared at xs (x itself for the tail). */
// @ts-ignore: decorator
@inline function dot4RowsF16Fma(
  p0: usize, p1: usize, p2: usize, p3: usize, shift: i32, xs: usize,
  t0: usize, t1: usize, t2: usize, t3: usize, x: usize, n: i32,
): v128 {
  // Even and odd columns sum apart: each accumulator then waits on one fused multiply-add per 8 columns
  // instead of two in a row (the latency of that chain, not the decode, bounded the loop).
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  let b0 = a0;
  let b1 = a0;
  let b2 = a0;
  let b3 = a0;
  const me = f16EvenMask(opaqueZero(n));
  const mo = f16OddMask(opaqueZero(n));
  let c = 0;
  for (; c + 8 <= n; c += 8) {
    const o16 = <usize>c << shift;
    const xe = v128.load(xs + (<usize>c << 2));
    const xo = v128.load(xs + (<usize>c << 2), 16);
    const r0 = v128.load(p0 + o16);
    a0 = f32x4.relaxed_madd(f16Even(r0, me), xe, a0);
    b0 = f32x4.relaxed_madd(f16Odd(r0, mo), xo, b0);
    const r1 = v128.load(p1 + o16);
    a1 = f32x4.relaxed_madd(f16Even(r1, me), xe, a1);
    b1 = f32x4.relaxed_madd(f16Odd(r1, mo), xo, b1);
    const r2 = v128.load(p2 + o16);
    a2 = f32x4.relaxed_madd(f16Even(r2, me), xe, a2);
    b2 = f32x4.relaxed_madd(f16Odd(r2, mo), xo, b2);
    const r3 = v128.load(p3 + o16);
    a3 = f32x4.relaxed_madd(f16Even(r3, me), xe, a3);
    b3 = f32x4.relaxed_madd(f16Odd(r3, mo), xo, b3);
  }
  a0 = f32x4.add(a0, b0);
  a1 = f32x4.add(a1, b1);
  a2 = f32x4.add(a2, b2);
  a3 = f32x4.add(a3, b3);
  return tailF16Rows(hsum4(a0, a1, a2, a3), t0, t1, t2, t3, x, c, n);
}

/**
 * y (rows) += W·x, W (rows, cols) f16 free of Inf/NaN; scratch: f16ScratchBytes(cols). Returns 1, or 0
 * having written nothing when x cannot be prepared (|x| ≥ 2^15 or Inf/NaN): then run kernels.wasm's
 * matvec_f16, which takes the exact path.
 */
export function matvec_f16r(w: usize, rows: i32, cols: i32, x: usize, y: usize, scratch: usize, copy: usize): i32 {
  if (!prepareF16X(x, cols, scratch)) return 0;
  const stride = <usize>cols << 1;
  const quad = <usize>(cols >> 3) << 6; // bytes of a quad in f16_interleave's copy
  for (let r = 0; r < rows; r += 4) {
    const m = min(4, rows - r);
    const p = w + <usize>r * stride;
    const p1 = m > 1 ? p + stride : p;
    const p2 = m > 2 ? p + 2 * stride : p;
    const p3 = m > 3 ? p + 3 * stride : p;
    const q = copy + <usize>(r >> 2) * quad;
    const s = copy && m == 4
      ? dot4RowsF16Fma(q, q + 16, q + 32, q + 48, 3, scratch, p, p1, p2, p3, x, cols)
      : dot4RowsF16Fma(p, p1, p2, p3, 1, scratch, p, p1, p2, p3, x, cols);
    const dst = y + (<usize>r << 2);
    if (m == 4) v128.store(dst, f32x4.add(v128.load(dst), s));
    else {
      store<f32>(dst, load<f32>(dst) + f32x4.extract_lane(s, 0));
      if (m > 1) store<f32>(dst, load<f32>(dst, 4) + f32x4.extract_lane(s, 1), 4);
      if (m > 2) store<f32>(dst, load<f32>(dst, 8) + f32x4.extract_lane(s, 2), 8);
    }
  }
  return 1;
}

// ---- CSR with int8 values, sliced ----
// The non-zeros regrouped by runtime/operators/csr_slices.ts (layout there): quads of four segments (a row's
// non-zeros of one scale group), each quad's slices of 16 (local column index, code) byte pairs, four per
// lane, all in one 16-column block of x. x is quantized as for matvec_q8r (u = xq + 64 ∈ [1, 127]); per slice
// one relaxed swizzle gathers u at the 16 local indices from the block's v128 and one i8 × i7 dot product
// adds the four lanes' products:
//   acc[j] = Σ_slices Σ_{b<4} code[4j+b] · u[16·block + idx[4j+b]],   y[row_j] += sx · scale_j · (acc[j] − off_j)
// with off_j = 64 · Σ the segment's codes (written by the layout). Unused slots have code 0.

/**
 * y (rows) += W·x for a sliced CSR copy at `sliced` (`quads` quads, `slices` slices); scratch:
 * quantizedScratchBytes(cols). Returns 0, having written nothing, when x holds an Inf or NaN.
 */
export function csr_matvec_q8r(sliced: usize, quads: i32, slices: i32, cols: i32, x: usize, y: usize, scratch: usize): i32 {
  const m = maxAbs(x, cols);
  if (!(m <= F32.MAX_VALUE)) return 0;
  if (m == 0 || quads <= 0) return 1;
  const sxv = f32x4.splat(quantize8(x, cols, m, 63, 64, scratch));
  const data = sliced + (<usize>quads << 6);
  const xoff = data + (<usize>slices << 5);
  let s = 0;
  for (let q = 0; q < quads; q++) {
    const h = sliced + (<usize>q << 6);
    const e = load<i32>(h, 48);
    // Two accumulators: a quad's dot products would otherwise wait on each other (one chain per quad).
    // Four slices per pass, then two and one for the rest, their x offsets read two to a 64-bit load
    // (decoder 10000 × 200 at 20 %, interleaved A/B: 0.875–0.93 of the time with two slices and a 32-bit
    // load each; every load is bounds-checked in Deno).
    let acc = i32x4.splat(0);
    let acc2 = acc;
    for (; s + 4 <= e; s += 4) {
      const d = data + (<usize>s << 5);
      const oo = load<u64>(xoff + (<usize>s << 2));
      const pp = load<u64>(xoff + (<usize>s << 2), 8);
      acc = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(d, 16), i8x16.relaxed_swizzle(v128.load(scratch + <usize>(<u32>oo)), v128.load(d)), acc);
      acc2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(d, 48), i8x16.relaxed_swizzle(v128.load(scratch + <usize>(<u32>(oo >>> 32))), v128.load(d, 32)), acc2);
      acc = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(d, 80), i8x16.relaxed_swizzle(v128.load(scratch + <usize>(<u32>pp)), v128.load(d, 64)), acc);
      acc2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(d, 112), i8x16.relaxed_swizzle(v128.load(scratch + <usize>(<u32>(pp >>> 32))), v128.load(d, 96)), acc2);
    }
    if (s + 2 <= e) {
      const d = data + (<usize>s << 5);
      const oo = load<u64>(xoff + (<usize>s << 2));
      const xb = v128.load(scratch + <usize>(<u32>oo));
      const xb2 = v128.load(scratch + <usize>(<u32>(oo >>> 32)));
      acc = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(d, 16), i8x16.relaxed_swizzle(xb, v128.load(d)), acc);
      acc2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(d, 48), i8x16.relaxed_swizzle(xb2, v128.load(d, 32)), acc2);
      s += 2;
    }
    if (s < e) {
      const d = data + (<usize>s << 5);
      const xb = v128.load(scratch + <usize>load<u32>(xoff + (<usize>s << 2)));
      acc = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(d, 16), i8x16.relaxed_swizzle(xb, v128.load(d)), acc);
      s++;
    }
    acc = i32x4.add(acc, acc2);
    const v = f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(acc, v128.load(h, 32))), f32x4.mul(v128.load(h, 16), sxv));
    const y0 = y + (<usize>load<i32>(h) << 2);
    const y1 = y + (<usize>load<i32>(h, 4) << 2);
    const y2 = y + (<usize>load<i32>(h, 8) << 2);
    const y3 = y + (<usize>load<i32>(h, 12) << 2);
    store<f32>(y0, load<f32>(y0) + f32x4.extract_lane(v, 0));
    store<f32>(y1, load<f32>(y1) + f32x4.extract_lane(v, 1));
    store<f32>(y2, load<f32>(y2) + f32x4.extract_lane(v, 2));
    store<f32>(y3, load<f32>(y3) + f32x4.extract_lane(v, 3));
  }
  return 1;
}

/** Y (n × rows) += X (n × cols) · Wᵀ: csr_matvec_q8r once per timestep; 0 (nothing written) if X holds an Inf or NaN. */
export function csr_matmat_q8r(
  sliced: usize, quads: i32, slices: i32, rows: i32, cols: i32, x: usize, n: i32, y: usize, scratch: usize,
): i32 {
  if (!allFinite(x, n * cols)) return 0;
  for (let t = 0; t < n; t++) {
    csr_matvec_q8r(sliced, quads, slices, cols, x + (<usize>(t * cols) << 2), y + (<usize>(t * rows) << 2), scratch);
  }
  return 1;
}

// ---- SparseBlocks with int8 values, 4-row blocks ----
// kernels.wasm's blocks_matvec (blocks.ts: layout, scale runs, SEGMENT) with x quantized to 7 bits as for
// matvec_q8r, u = xq + 64 ∈ [1, 127], written past cols to the end of the last whole block as u = 64 (xq = 0),
// and one i8 × i7 dot product per 16 codes instead of widening both to int16:
//   C = 8:  two v128 of 2 rows × 8; x's 8 codes in both halves → lanes (0, 1): row 2h, (2, 3): row 2h + 1
//   C = 16: a v128 per row; x's 16 codes → the row's sum over its 4 lanes
// The offset 64 · Σ code is a second dot product with 64 in every lane, beside the first (no table to
// prepare). Each run of one scale is summed exactly in integers, its lanes folded into the four rows in
// integers too, then meets its scale in one fused multiply-add. 1-row and 4 × 4 blocks stay
// plain (measured: 4 × 4 no faster this way, 4 × 8 13 % faster).

import { SEGMENT as BLOCK_SEGMENT } from "./blocks"; // codes per run at most: the i32 sums cannot overflow

/** Block k's column index (the file's u16 block index). */
// @ts-ignore: decorator
@inline function blockColumn(idx: usize, k: i32): usize {
  return <usize>load<u16>(idx + (<usize>k << 1));
}

/** y (rows) += sx · W·xq for 4-row blocks of `c` (8 or 16) columns, x's codes + 64 at u (see above). */
function blocksProduct(
  rowPtr: usize, idx: usize, vals: usize, scales: usize, group: i32, c: i32, rows: i32, u: usize, sx: f32,
  y: usize,
): void {
  if (i16Sums()) blocksProductWith(rowPtr, idx, vals, scales, group, c, rows, u, sx, y, true);
  else blocksProductWith(rowPtr, idx, vals, scales, group, c, rows, u, sx, y, false);
}

/**
 * i16 dot products of 16 codes v (any int8) with x's codes + 64 (xv) and with 64 (k64), subtracted: per i16
 * lane Σ of two columns' q · xq, |·| ≤ 2 · 128 · 63 (no pair saturates: 2 · 128 · 127 < 2^15).
 */
// @ts-ignore: decorator
@inline function dot16Offset(v: v128, xv: v128, k64: v128): v128 {
  return i16x8.sub(i16x8.relaxed_dot_i8x16_i7x16_s(v, xv), i16x8.relaxed_dot_i8x16_i7x16_s(v, k64));
}

/**
 * blocksProduct with i16 dot products (`i16`, a constant where inlined: on x86 without VNNI each is one
 * pmaddubsw, the i32 one three, so per 16 codes the products with x and with 64, their difference and one
 * widening (extadd_pairwise; a dot_i16x8_s against ones kept in a register ran 1.07× slower) instead of two
 * i32 dot products and a subtract per run: decoder 4 × 8 blocks 0.82–0.84, 4 × 16 0.87–0.88 of the time, the
 * same sums) or i32 ones (one vpdpbusd each with AVX-VNNI, one sdot on Arm).
 */
// @ts-ignore: decorator
@inline function blocksProductWith(
  rowPtr: usize, idx: usize, vals: usize, scales: usize, group: i32, c: i32, rows: i32, u: usize, sx: f32,
  y: usize, i16: bool,
): void {
  const k64 = keptI8x16(64, opaqueZero(rows));
  const rc = c << 2;
  const perSegment = BLOCK_SEGMENT / rc;
  const blocksPerGroup = group / rc;
  const sxv = f32x4.splat(sx);
  let k = <i32>load<u32>(rowPtr);
  let g = k / blocksPerGroup;
  let groupEnd = (g + 1) * blocksPerGroup;
  const blockRows = (rows + 3) >> 2;
  for (let i = 0; i < blockRows; i++) {
    const k1 = <i32>load<u32>(rowPtr + (<usize>i << 2), 4);
    if (k1 <= k) continue;
    let f = f32x4.splat(0);
    while (k < k1) {
      const end = min(k1, min(groupEnd, k + perSegment));
      let a0 = i32x4.splat(0);
      let a1 = a0;
      let o0 = a0;
      let o1 = a0;
      let t: v128; // the run's four row sums, exact
      if (c == 8) {
        if (i16) {
          for (; k < end; k++) {
            const v = vals + (<usize>k << 5);
            const xv = v128.load64_splat(u + (blockColumn(idx, k) << 3));
            a0 = i32x4.add(a0, i32x4.extadd_pairwise_i16x8_s(dot16Offset(v128.load(v), xv, k64)));
            a1 = i32x4.add(a1, i32x4.extadd_pairwise_i16x8_s(dot16Offset(v128.load(v, 16), xv, k64)));
          }
        } else {
          for (; k < end; k++) {
            const v = vals + (<usize>k << 5);
            const xv = v128.load64_splat(u + (blockColumn(idx, k) << 3));
            const v01 = v128.load(v);
            const v23 = v128.load(v, 16);
            a0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v01, xv, a0);
            o0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v01, k64, o0);
            a1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v23, xv, a1);
            o1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v23, k64, o1);
          }
        }
        const t0 = i32x4.sub(a0, o0);
        const t1 = i32x4.sub(a1, o1);
        t = i32x4.add(i32x4.shuffle(t0, t1, 0, 2, 4, 6), i32x4.shuffle(t0, t1, 1, 3, 5, 7));
      } else {
        let a2 = a0;
        let a3 = a0;
        let o2 = a0;
        let o3 = a0;
        if (i16) {
          for (; k < end; k++) {
            const v = vals + (<usize>k << 6);
            const xv = v128.load(u + (blockColumn(idx, k) << 4));
            a0 = i32x4.add(a0, i32x4.extadd_pairwise_i16x8_s(dot16Offset(v128.load(v), xv, k64)));
            a1 = i32x4.add(a1, i32x4.extadd_pairwise_i16x8_s(dot16Offset(v128.load(v, 16), xv, k64)));
            a2 = i32x4.add(a2, i32x4.extadd_pairwise_i16x8_s(dot16Offset(v128.load(v, 32), xv, k64)));
            a3 = i32x4.add(a3, i32x4.extadd_pairwise_i16x8_s(dot16Offset(v128.load(v, 48), xv, k64)));
          }
        } else for (; k < end; k++) {
          const v = vals + (<usize>k << 6);
          const xv = v128.load(u + (blockColumn(idx, k) << 4));
          const v0 = v128.load(v);
          const v1 = v128.load(v, 16);
          const v2 = v128.load(v, 32);
          const v3 = v128.load(v, 48);
          a0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v0, xv, a0);
          o0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v0, k64, o0);
          a1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v1, xv, a1);
          o1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v1, k64, o1);
          a2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v2, xv, a2);
          o2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v2, k64, o2);
          a3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v3, xv, a3);
          o3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v3, k64, o3);
        }
        t = hsum4i(i32x4.sub(a0, o0), i32x4.sub(a1, o1), i32x4.sub(a2, o2), i32x4.sub(a3, o3));
      }
      f = f32x4.relaxed_madd(f32x4.convert_i32x4_s(t), v128.load32_splat(scales + (<usize>g << 2)), f);
      if (k == groupEnd) {
        g++;
        groupEnd += blocksPerGroup;
      }
    }
    addQuad(y, i << 2, rows, f32x4.mul(f, sxv));
  }
}

/** x's codes + 64 at u, then u = 64 up to the end of the last block of `c` columns; returns sx. */
function blocksCodes(x: usize, cols: i32, m: f32, c: i32, u: usize): f32 {
  const sx = quantize8(x, cols, m, 63, 64, u);
  memory.fill(u + <usize>cols, 64, <usize>(((cols + c - 1) / c) * c - cols));
  return sx;
}

/**
 * Y (n × rows) += X (n × cols) · Wᵀ for a SparseBlocks matrix of 4-row blocks (`c` = 8 or 16 columns)
 * with int8 values (blocks_matmat's arguments but valKind and R; n = 1 for a matrix × vector); scratch:
 * blocksScratchBytes(cols). Returns 0, having written nothing, when x holds an Inf or NaN (then run
 * kernels.wasm's blocks_matvec/matmat, whose exact path handles it).
 */
export function blocks_matmat_q8r(
  rowPtr: usize, idx: usize, vals: usize, scales: usize, group: i32, c: i32, rows: i32, cols: i32, x: usize,
  n: i32, y: usize, scratch: usize,
): i32 {
  if (rows <= 0 || cols <= 0 || n <= 0) return 1;
  if (!allFinite(x, n * cols)) return 0;
  for (let t = 0; t < n; t++) {
    const xt = x + <usize>t * (<usize>cols << 2);
    const m = maxAbs(xt, cols);
    if (m > 0) {
      const sx = blocksCodes(xt, cols, m, c, scratch);
      blocksProduct(rowPtr, idx, vals, scales, group, c, rows, scratch, sx, y + <usize>t * (<usize>rows << 2));
    }
  }
  return 1;
}

// ---- log-softmax with fused multiply-adds ----
// log_softmax.ts compiled with relaxed SIMD: exp4's range reduction and polynomial as fused multiply-adds.
export { log_softmax as log_softmax_r } from "./log_softmax";

// ---- tensor-train products with fused multiply-adds ----
// tt.ts compiled with relaxed SIMD: the multiply-adds of its P = 4 steps' outer products (every step of the
// fast split, `outer4` there) fused; work: 3 · maxInter floats.
export { tt_matmat_f32 as tt_matmat_f32r, tt_matvec_f32 as tt_matvec_f32r } from "./tt";

// ---- tensor-train: core 0's step on its int8 codes ----
// The right-to-left matvec's last step (tt.ts) is y[i·P + p] += Σ_l M[i, l] · A[p, l] for r = i·P + p < rows:
// core 0 (R_0 = 1) as m = m_0 rows of L = n_0·R_1 values against the P = ∏_{k>0} m_k rows of the step input
// A. In the fast split it is nearly all of the work (decoder 10000 × 200 at rank 16: 320 k of 330 k
// multiply-adds, M 2500 × 32). With int8 cores it runs here on M's codes — a quarter of the bytes of the
// decoded f32 core, 16 multiply-adds per dot product instead of 4 per fused multiply-add — with each row of A
// quantized to 7 bits as matvec_q8r's x (u = aq + 64 ∈ [1, 127], the i7 operand): per 16 codes of a core row,
// one dot product with each of four rows of A held in registers, so M is read P / 4 times. The offset
// 64 · Σ_l M[i, l] is the core's and subtracted from a table (rowOffsets[i] = −64 · Σ_l M[i, l], i32), the
// scale too (rowScales[i], f32: core row i's scale); each row of A has its own scale sa[p] = max|A[p]| / 63.
//   y[i·P + p] += rowScales[i] · sa[p] · (Σ_l M[i, l] · u[p, l] + rowOffsets[i])
// The i32 sums are exact (L ≤ 65536: |Σ| ≤ L · 128 · 127); i16 dot products (dotSumsMode) hold two products
// per lane, |·| ≤ 2 · 128 · 127 < 2^15. Needs L % 16 == 0 and P % 4 == 0; otherwise, or where A holds an Inf
// or NaN, step 0 runs in f32 over desc's core 0 (which must then be the decoded core, as tt_matvec_f32r's).

import { core as ttCore, field as ttField, tt_matvec_f32, ttSteps } from "./tt";

/**
 * Core 0's step (above) on codes at u (P rows of L) with row scales sa (P f32). The two loops write out
 * their dot products and epilogue each: the same through shared inlined helpers ran 1.10–1.24× slower.
 */
// @ts-ignore: decorator
@inline function ttCore0With(
  codes: usize, rowScales: usize, rowOffsets: usize, m: i32, L: i32, P: i32, u: usize, sa: usize, rows: i32,
  y: usize, i16: bool,
): void {
  const rowBytes = <usize>L;
  const ones = keptI32x4(0x00010001, opaqueZero(m)); // widens the i16 pairs (pmaddwd) from a register
  for (let q = 0; q < P; q += 4) {
    const u0 = u + <usize>q * rowBytes;
    const u1 = u0 + rowBytes;
    const u2 = u1 + rowBytes;
    const u3 = u2 + rowBytes;
    const sav = v128.load(sa + (<usize>q << 2));
    if (L == 32) {
      // The common shape (n_0 = 2, R_1 = 16): A's eight chunks stay in registers across the core's rows.
      const x00 = v128.load(u0);
      const x01 = v128.load(u0, 16);
      const x10 = v128.load(u1);
      const x11 = v128.load(u1, 16);
      const x20 = v128.load(u2);
      const x21 = v128.load(u2, 16);
      const x30 = v128.load(u3);
      const x31 = v128.load(u3, 16);
      for (let i = 0; i < m; i++) {
        const r0 = i * P + q;
        if (r0 >= rows) break;
        const w = codes + (<usize>i << 5);
        const v0 = v128.load(w);
        const v1 = v128.load(w, 16);
        let a0: v128, a1: v128, a2: v128, a3: v128;
        if (i16) {
          a0 = i32x4.add(i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(v0, x00), ones), i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(v1, x01), ones));
          a1 = i32x4.add(i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(v0, x10), ones), i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(v1, x11), ones));
          a2 = i32x4.add(i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(v0, x20), ones), i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(v1, x21), ones));
          a3 = i32x4.add(i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(v0, x30), ones), i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(v1, x31), ones));
        } else {
          a0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v1, x01, i32x4.relaxed_dot_i8x16_i7x16_add_s(v0, x00, i32x4.splat(0)));
          a1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v1, x11, i32x4.relaxed_dot_i8x16_i7x16_add_s(v0, x10, i32x4.splat(0)));
          a2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v1, x21, i32x4.relaxed_dot_i8x16_i7x16_add_s(v0, x20, i32x4.splat(0)));
          a3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v1, x31, i32x4.relaxed_dot_i8x16_i7x16_add_s(v0, x30, i32x4.splat(0)));
        }
        const t = i32x4.add(hsum4i(a0, a1, a2, a3), v128.load32_splat(rowOffsets + (<usize>i << 2)));
        const s = f32x4.mul(sav, v128.load32_splat(rowScales + (<usize>i << 2)));
        addQuad(y, r0, rows, f32x4.mul(f32x4.convert_i32x4_s(t), s));
      }
      continue;
    }
    for (let i = 0; i < m; i++) {
      const r0 = i * P + q;
      if (r0 >= rows) break; // the padded rows past W's
      const w = codes + <usize>i * rowBytes;
      let a0 = i32x4.splat(0);
      let a1 = a0;
      let a2 = a0;
      let a3 = a0;
      for (let c: usize = 0; c < rowBytes; c += 16) {
        const v = v128.load(w + c);
        if (i16) {
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(v, v128.load(u0 + c)), ones));
          a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(v, v128.load(u1 + c)), ones));
          a2 = i32x4.add(a2, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(v, v128.load(u2 + c)), ones));
          a3 = i32x4.add(a3, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(v, v128.load(u3 + c)), ones));
        } else {
          a0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v, v128.load(u0 + c), a0);
          a1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v, v128.load(u1 + c), a1);
          a2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v, v128.load(u2 + c), a2);
          a3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v, v128.load(u3 + c), a3);
        }
      }
      const t = i32x4.add(hsum4i(a0, a1, a2, a3), v128.load32_splat(rowOffsets + (<usize>i << 2)));
      const s = f32x4.mul(sav, v128.load32_splat(rowScales + (<usize>i << 2)));
      addQuad(y, r0, rows, f32x4.mul(f32x4.convert_i32x4_s(t), s));
    }
  }
}

/**
 * y (rows) += W·x for a TT-matrix whose core 0 is int8 (above): steps d−1 … 1 as tt_matvec_f32r (desc, work:
 * its descriptor and 3 · maxInter floats), then core 0's step on `codes` (m_0 × n_0·R_1 int8, row-major: the
 * core's own bytes) with rowScales (m_0 f32) and rowOffsets (m_0 i32, −64 · each row's sum of codes).
 */
export function tt_matvec_q8r(
  desc: usize, x: usize, y: usize, work: usize, codes: usize, rowScales: usize, rowOffsets: usize,
): void {
  const d = ttField(desc, 0);
  const rows = ttField(desc, 1);
  if (d <= 0 || rows <= 0) return;
  const m = ttCore(desc, 0, 2);
  const L = ttCore(desc, 0, 3) * ttCore(desc, 0, 4);
  let P = 1; // ∏_{k>0} m_k: step 0's rows of A
  for (let k = 1; k < d; k++) P *= ttCore(desc, k, 2);
  if (d < 2 || ttCore(desc, 0, 1) != 1 || (L & 15) != 0 || L > 65536 || (P & 3) != 0) {
    tt_matvec_f32(desc, x, y, work);
    return;
  }
  const a = ttSteps(desc, x, work, 1);
  const n = P * L;
  // A pass of its own over A's P·L values before the per-row one below: folding the check into that loop
  // (an early return there) ran the L = 64 step 1.08–1.11× slower (binaryen inlines differently).
  if (!allFinite(a, n)) {
    tt_matvec_f32(desc, x, y, work);
    return;
  }
  // The codes and scales of A go to the free work buffer (n bytes + 4·P: within maxInter floats ≥ n).
  const maxInter = <usize>ttField(desc, 3) << 2;
  const u = a == work ? work + maxInter : work;
  const sa = u + ((<usize>n + 15) & ~(<usize>15));
  for (let p = 0; p < P; p++) {
    const ap = a + (<usize>(p * L) << 2);
    const up = u + <usize>(p * L);
    const mx = maxAbsOf(ap, L);
    if (mx > 0) store<f32>(sa + (<usize>p << 2), quantize8(ap, L, mx, 63, 64, up));
    else {
      memory.fill(up, 64, <usize>L);
      store<f32>(sa + (<usize>p << 2), 0);
    }
  }
  if (i16Sums()) ttCore0With(codes, rowScales, rowOffsets, m, L, P, u, sa, rows, y, true);
  else ttCore0With(codes, rowScales, rowOffsets, m, L, P, u, sa, rows, y, false);
}

/** Y (n × rows) += X (n × cols) · Wᵀ, one tt_matvec_q8r per timestep. */
export function tt_matmat_q8r(
  desc: usize, x: usize, n: i32, y: usize, work: usize, codes: usize, rowScales: usize, rowOffsets: usize,
): void {
  const xStride = <usize>max(ttField(desc, 2), 0) << 2;
  const yStride = <usize>max(ttField(desc, 1), 0) << 2;
  for (let t = 0; t < n; t++) {
    tt_matvec_q8r(desc, x + <usize>t * xStride, y + <usize>t * yStride, work, codes, rowScales, rowOffsets);
  }
}

// ---- f16 matrix × matrix with fused multiply-adds ----
import { matmatF16Fast } from "./matmat";

/**
 * matmat_f16's fast path (W's halves as f32 patterns times x prepared · 2^112, as/f16.ts) with fused
 * multiply-adds, for W free of Inf/NaN (f16_finite); scratch: f16ScratchBytes(cols). Returns 0, having
 * written nothing, when some |x| ≥ 2^15 or x holds an Inf or NaN (then run kernels.wasm's matmat_f16).
 */
export function matmat_f16r(w: usize, rows: i32, cols: i32, x: usize, n: i32, y: usize, scratch: usize): i32 {
  if (rows <= 0 || n <= 0) return 1;
  if (!(maxAbs(x, n * cols) < 32768)) return 0; // prepareF16X's limit; NaN fails the comparison too
  matmatF16Fast(w, rows, cols, x, n, y, scratch);
  return 1;
}

// ---- f32 matrix × matrix with fused multiply-adds ----
// matmat.ts's matmat_f32 and matmat_f32_bias compiled with relaxed SIMD: each multiply-add one instruction
// (madd.ts).
export { matmat_f32 as matmat_f32r, matmat_f32_bias as matmat_f32_bias_r } from "./matmat";
