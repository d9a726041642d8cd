// Matrix × matrix over a sequence, accumulating: Y[t·rows + r] += Σ_c W[r·cols + c] · X[t·cols + c].
// The caller pre-fills Y (bias or zeros). Timesteps are taken four at a time: each row of W is read once
// per block of four timesteps (n/4 passes over W instead of n matvecs); the last n % 4 timesteps take one
// more pass with the unused lanes discarded. Sizes ≤ 0 do nothing.

import { addLanes, dot4_f32, dotRowF16X4, hsum4, pack4, tailF16Row } from "./dot";
import { f16Even, f16EvenMask, f16Odd, f16OddMask, prepareF16X } from "./f16";
import { opaqueZero } from "./loop_constant";
import { madd } from "./madd";

/** Bytes of W's rows that matmat_f32 passes every timestep over before it moves on (see there). */
const F32_ROW_BLOCK_BYTES = 32768;

/**
 * W: (rows, cols) row-major f32; X: (n, cols) row-major f32; Y: (n, rows) row-major f32, accumulated.
 * Register blocks of two rows × four timesteps: each load of x serves two rows and each load of W four
 * timesteps (22 instructions per 32 multiply-adds, against 13 per 16 for one row × four timesteps).
 * Rows in cache blocks of F32_ROW_BLOCK_BYTES: all n timesteps pass over one block while it is in L1/L2,
 * so W comes from memory once per call instead of once per four timesteps (PTB's 8 MB decoder over 64
 * timesteps: 16 passes through DRAM before); X (n · cols · 4 bytes) is what is re-read, from cache.
 */
export function matmat_f32(w: usize, rows: i32, cols: i32, x: usize, n: i32, y: usize): void {
  matmatF32(w, rows, cols, x, n, y, 0, false);
}

/**
 * As matmat_f32, but Y (n, rows) = bias (rows f32, the same for every timestep) + X·Wᵀ, written without
 * being read: no pass to pre-fill Y with the bias, and no read of it in the product (PTB's decoder over 64
 * timesteps: 2.56 MB of logits each way). bias = 0: none (Y = X·Wᵀ).
 */
export function matmat_f32_bias(w: usize, rows: i32, cols: i32, x: usize, n: i32, y: usize, bias: usize): void {
  matmatF32(w, rows, cols, x, n, y, bias, true);
}

/** matmat_f32 (set false) or matmat_f32_bias (set true). */
// @ts-ignore: decorator
@inline function matmatF32(w: usize, rows: i32, cols: i32, x: usize, n: i32, y: usize, bias: usize, set: bool): void {
  if (rows <= 0 || n <= 0) return;
  if (cols <= 0) {
    // An empty product: Y = bias (or 0) when setting, unchanged when accumulating.
    if (set) {
      for (let t = 0; t < n; t++) {
        const yt = y + <usize>t * (<usize>rows << 2);
        if (bias) memory.copy(yt, bias, <usize>rows << 2);
        else memory.fill(yt, 0, <usize>rows << 2);
      }
    }
    return;
  }
  const block = max(2, (F32_ROW_BLOCK_BYTES / (cols << 2)) & ~1);
  for (let r0 = 0; r0 < rows; r0 += block) {
    matmatRowsF32(w, rows, cols, x, n, y, r0, min(rows, r0 + block), set ? (bias ? 1 : 2) : 0, bias);
  }
}

/** The first m (0..4) lanes of s, each plus b, to dst, dst + step, … (overwriting). */
// @ts-ignore: decorator
@inline function setLanes(dst: usize, step: usize, s: v128, m: i32, b: f32): void {
  if (m > 0) store<f32>(dst, f32x4.extract_lane(s, 0) + b);
  if (m > 1) store<f32>(dst + step, f32x4.extract_lane(s, 1) + b);
  if (m > 2) store<f32>(dst + 2 * step, f32x4.extract_lane(s, 2) + b);
  if (m > 3) store<f32>(dst + 3 * step, f32x4.extract_lane(s, 3) + b);
}

/**
 * Y's rows [r0, r1) of a block: added to (mode 0), set to bias[r] + (mode 1) or set to (mode 2) the sums
 * s, timestep lanes of row r.
 */
// @ts-ignore: decorator
@inline function putRow(y0: usize, yStride: usize, r: i32, s: v128, m: i32, mode: i32, bias: usize): void {
  const dst = y0 + (<usize>r << 2);
  if (mode == 0) addLanes(dst, yStride, s, m);
  else setLanes(dst, yStride, s, m, mode == 1 ? load<f32>(bias + (<usize>r << 2)) : 0);
}

/**
 * matmat_f32 over rows [r0, r1) of W and Y's columns; r1 − r0 is even unless r1 = rows; mode as putRow
 * (decided per row pair, outside the loop over columns).
 */
function matmatRowsF32(
  w: usize, rows: i32, cols: i32, x: usize, n: i32, y: usize, r0: i32, r1: i32, mode: i32, bias: usize,
): void {
  const wStride = <usize>cols << 2;
  const xStride = <usize>cols << 2;
  const yStride = <usize>rows << 2;
  for (let t = 0; t < n; t += 4) {
    const m = min(4, n - t);
    const x0 = x + <usize>t * xStride;
    const x1 = m > 1 ? x0 + xStride : x0;
    const x2 = m > 2 ? x0 + 2 * xStride : x0;
    const x3 = m > 3 ? x0 + 3 * xStride : x0;
    const y0 = y + <usize>t * yStride;
    let r = r0;
    for (; r + 2 <= r1; r += 2) {
      const wa = w + <usize>r * wStride;
      const wb = wa + wStride;
      let a0 = f32x4.splat(0);
      let a1 = a0;
      let a2 = a0;
      let a3 = a0;
      let b0 = a0;
      let b1 = a0;
      let b2 = a0;
      let b3 = a0;
      let c = 0;
      for (; c + 4 <= cols; c += 4) {
        const off = <usize>c << 2;
        const va = v128.load(wa + off);
        const vb = v128.load(wb + off);
        const v0 = v128.load(x0 + off);
        const v1 = v128.load(x1 + off);
        const v2 = v128.load(x2 + off);
        const v3 = v128.load(x3 + off);
        a0 = madd(va, v0, a0);
        a1 = madd(va, v1, a1);
        a2 = madd(va, v2, a2);
        a3 = madd(va, v3, a3);
        b0 = madd(vb, v0, b0);
        b1 = madd(vb, v1, b1);
        b2 = madd(vb, v2, b2);
        b3 = madd(vb, v3, b3);
      }
      let sa = hsum4(a0, a1, a2, a3);
      let sb = hsum4(b0, b1, b2, b3);
      for (; c < cols; c++) {
        const off = <usize>c << 2;
        const xv = pack4(load<f32>(x0 + off), load<f32>(x1 + off), load<f32>(x2 + off), load<f32>(x3 + off));
        sa = madd(xv, f32x4.splat(load<f32>(wa + off)), sa);
        sb = madd(xv, f32x4.splat(load<f32>(wb + off)), sb);
      }
      putRow(y0, yStride, r, sa, m, mode, bias);
      putRow(y0, yStride, r + 1, sb, m, mode, bias);
    }
    if (r < r1) putRow(y0, yStride, r, dot4_f32(x0, x1, x2, x3, w + <usize>r * wStride, cols), m, mode, bias);
  }
}

/** Bytes of W's f16 rows that matmat_f16 passes every timestep over before it moves on (as matmat_f32's). */
const F16_ROW_BLOCK_BYTES = 32768;

/**
 * W: (rows, cols) row-major f16 bits (row stride cols·2 bytes); X: (n, cols) f32; Y: (n, rows) f32,
 * accumulated. `scratch` (≥ 4 · cols · 4 bytes, f16ScratchBytes) and `finite` as matvec_f16: four timesteps
 * of x prepared at a time; a block of timesteps where one cannot be prepared runs the exact path.
 * Rows in cache blocks of F16_ROW_BLOCK_BYTES, as matmat_f32: W comes from memory once per call instead of
 * once per four timesteps; each block prepares its four timesteps of x again (cols · 4 floats, against
 * block rows · cols · 4 multiply-adds). Every sum is the same dot product as without blocks: the results
 * are bit for bit those of one pass per four timesteps.
 */
export function matmat_f16(w: usize, rows: i32, cols: i32, x: usize, n: i32, y: usize, scratch: usize, finite: i32): void {
  matmatF16(w, rows, cols, x, n, y, scratch, finite, false);
}

/**
 * matmat_f16's fast path alone, for W free of Inf/NaN and every |x| < 2^15 (the caller checks both; the
 * relaxed module's matmat_f16r, whose `madd` fuses). Not in kernels.wasm's exports.
 */
export function matmatF16Fast(w: usize, rows: i32, cols: i32, x: usize, n: i32, y: usize, scratch: usize): void {
  matmatF16(w, rows, cols, x, n, y, scratch, 1, true);
}

/** matmat_f16, or with `fastOnly` (a constant where inlined) matmatF16Fast. */
// @ts-ignore: decorator
@inline function matmatF16(
  w: usize, rows: i32, cols: i32, x: usize, n: i32, y: usize, scratch: usize, finite: i32, fastOnly: bool,
): void {
  if (rows <= 0 || n <= 0) return;
  // An even number of rows (as matmat_f32's): only W's own odd last row takes the two-row pass alone.
  const block = max(2, (F16_ROW_BLOCK_BYTES / max(1, cols << 1)) & ~1);
  for (let r0 = 0; r0 < rows; r0 += block) {
    matmatRowsF16(w, rows, cols, x, n, y, scratch, finite, r0, min(rows, r0 + block), fastOnly);
  }
}

/** matmatF16 over rows [r0, r1) of W and Y's columns. */
// @ts-ignore: decorator
@inline function matmatRowsF16(
  w: usize, rows: i32, cols: i32, x: usize, n: i32, y: usize, scratch: usize, finite: i32, r0: i32, r1: i32,
  fastOnly: bool,
): void {
  const wStride = <usize>cols << 1;
  const xStride = <usize>cols << 2;
  const yStride = <usize>rows << 2;
  for (let t = 0; t < n; t += 4) {
    const m = min(4, n - t);
    const x0 = x + <usize>t * xStride;
    const x1 = m > 1 ? x0 + xStride : x0;
    const x2 = m > 2 ? x0 + 2 * xStride : x0;
    const x3 = m > 3 ? x0 + 3 * xStride : x0;
    const y0 = y + <usize>t * yStride;
    if (fastOnly || (finite && scratch)) {
      const s0 = scratch;
      const s1 = s0 + xStride;
      const s2 = s1 + xStride;
      const s3 = s2 + xStride;
      // All four prepared, in one loop (one copy of prepareF16X in the code); with fastOnly none fails: the
      // caller checked x.
      let ok = true;
      for (let j = 0; j < 4; j++) ok &= prepareF16X(j < m ? x0 + <usize>j * xStride : x0, cols, s0 + <usize>j * xStride);
      if (fastOnly || ok) {
        // Two rows per pass: each load of prepared x serves both (the fast path's loads, bounds-checked
        // in engines without a trap handler, outnumbered its multiply-adds).
        const me = f16EvenMask(opaqueZero(cols));
        const mo = f16OddMask(opaqueZero(cols));
        const c8 = cols & ~7;
        for (let r = r0; r < r1; r += 2) {
          // An odd last row pairs with itself (its second sums dropped): one loop for every row.
          const two = r + 1 < r1;
          const wa = w + <usize>r * wStride;
          const wb = two ? wa + wStride : wa;
          let a0 = f32x4.splat(0);
          let a1 = a0;
          let a2 = a0;
          let a3 = a0;
          let b0 = a0;
          let b1 = a0;
          let b2 = a0;
          let b3 = a0;
          for (let c = 0; c < c8; c += 8) {
            const o32 = <usize>c << 2;
            const ra = v128.load(wa + (<usize>c << 1));
            const rb = v128.load(wb + (<usize>c << 1));
            const ea = f16Even(ra, me);
            const oa = f16Odd(ra, mo);
            const eb = f16Even(rb, me);
            const ob = f16Odd(rb, mo);
            let xe = v128.load(s0 + o32);
            let xo = v128.load(s0 + o32, 16);
            a0 = madd(oa, xo, madd(ea, xe, a0));
            b0 = madd(ob, xo, madd(eb, xe, b0));
            xe = v128.load(s1 + o32);
            xo = v128.load(s1 + o32, 16);
            a1 = madd(oa, xo, madd(ea, xe, a1));
            b1 = madd(ob, xo, madd(eb, xe, b1));
            xe = v128.load(s2 + o32);
            xo = v128.load(s2 + o32, 16);
            a2 = madd(oa, xo, madd(ea, xe, a2));
            b2 = madd(ob, xo, madd(eb, xe, b2));
            xe = v128.load(s3 + o32);
            xo = v128.load(s3 + o32, 16);
            a3 = madd(oa, xo, madd(ea, xe, a3));
            b3 = madd(ob, xo, madd(eb, xe, b3));
          }
          // Both rows' last cols % 8 columns and sums through one copy of the tail.
          for (let q = 0; q < 2; q++) {
            if (q == 1 && !two) break;
            const s = q == 0 ? hsum4(a0, a1, a2, a3) : hsum4(b0, b1, b2, b3);
            addLanes(y0 + (<usize>(r + q) << 2), yStride, tailF16Row(s, q == 0 ? wa : wb, x0, x1, x2, x3, c8, cols), m);
          }
        }
        continue;
      }
    }
    if (!fastOnly) {
      for (let r = r0; r < r1; r++) {
        const s = dotRowF16X4(w + <usize>r * wStride, x0, x1, x2, x3, cols);
        addLanes(y0 + (<usize>r << 2), yStride, s, m);
      }
    }
  }
}
