// Matrix × vector, accumulating: y[r] += Σ_c W[r·cols + c] · x[c]. The caller pre-fills y (bias or zeros).
// Four rows of W per pass share each load of x (see dot.ts); the last rows % 4 rows take one more pass with
// the unused lanes discarded. Sizes ≤ 0 do nothing.
// f32 matrices of ≥ 256 KiB (PTB's 8 MB decoder, and its 640 kB LSTM matrices) are read one row at a time
// instead: within a step that touches 10 MB they come from L3 or DRAM, where four interleaved row streams of
// 800 bytes stall the prefetcher. Measured here, medians of interleaved runs: 10000 × 200 alone 0.36 vs
// 0.41 ms with a quiet L3 and 0.66 vs 1.53 ms when other tenants evict it; a whole f32 PTB step (feed +
// logProbs) 0.79 vs 0.83 and 1.04 vs 1.54 ms with this threshold against 1 MiB (800 × 200 kept hot in L2
// alone is the exception: four rows per pass 0.031 vs 0.039 ms).

import { addLanes, dot1_f32, dot4_f32, dot4RowsF16, dot4RowsF16Prepared } from "./dot";
import { prepareF16X } from "./f16";

/**
 * The copy of an f16 matrix that matvec_f16 and matvec_f16r read where given (f16InterleavedBytes(rows,
 * cols) bytes at out): rows in whole quads, each row's whole 8-column chunks, chunk k of quad Q at
 * (Q · ⌊cols/8⌋ + k) · 64, row 4Q + i's 16 bytes at 16 · i. One sequential stream instead of four rows'
 * (the last rows % 4 rows and cols % 8 columns are read from W itself).
 */
export function f16_interleave(w: usize, rows: i32, cols: i32, out: usize): void {
  const chunks = cols >> 3;
  const stride = <usize>cols << 1;
  for (let r = 0; r < (rows & ~3); r++) {
    const src = w + <usize>r * stride;
    const dst = out + ((<usize>(r >> 2) * <usize>chunks) << 6) + (<usize>(r & 3) << 4);
    for (let k = 0; k < chunks; k++) v128.store(dst + (<usize>k << 6), v128.load(src + (<usize>k << 4)));
  }
}

/** Elements (4 bytes each) from which an f32 matrix is streamed one row at a time: 256 KiB. */
// @ts-ignore: decorator
@inline const STREAM_ELEMENTS: i32 = 1 << 16;

/** W: (rows, cols) row-major f32 at w; x: (cols) f32; y: (rows) f32, accumulated. */
export function matvec_f32(w: usize, rows: i32, cols: i32, x: usize, y: usize): void {
  const stride = <usize>cols << 2;
  if (<i64>rows * <i64>cols >= <i64>STREAM_ELEMENTS) {
    for (let r = 0; r < rows; r++) {
      const dst = y + (<usize>r << 2);
      store<f32>(dst, load<f32>(dst) + dot1_f32(w + <usize>r * stride, x, cols));
    }
    return;
  }
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const p = w + <usize>r * stride;
    const s = dot4_f32(p, p + stride, p + 2 * stride, p + 3 * stride, x, cols);
    const dst = y + (<usize>r << 2);
    v128.store(dst, f32x4.add(v128.load(dst), s));
  }
  const m = rows - r;
  if (m > 0) {
    const p = w + <usize>r * stride;
    const s = dot4_f32(p, m > 1 ? p + stride : p, m > 2 ? p + 2 * stride : p, p, x, cols);
    addLanes(y + (<usize>r << 2), 4, s, m);
  }
}

/**
 * W: (rows, cols) row-major f16 bits at w (row stride cols·2 bytes); x: (cols) f32; y: (rows) f32,
 * accumulated. With `finite` (the caller has checked W with f16_finite) and `scratch` (≥ cols · 4 bytes,
 * f16ScratchBytes) x is prepared once and the rows run the cheaper decode (f16.ts); otherwise, or when
 * |x| ≥ 2^15 or x holds Inf/NaN, every dot product watches for Inf/NaN weights and is redone exactly.
 */
export function matvec_f16(
  w: usize, rows: i32, cols: i32, x: usize, y: usize, scratch: usize, finite: i32, copy: usize,
): void {
  const stride = <usize>cols << 1;
  let r = 0;
  if (finite && scratch && prepareF16X(x, cols, scratch)) {
    const quad = <usize>(cols >> 3) << 6; // bytes of a quad in the copy
    for (; r + 4 <= rows; r += 4) {
      const p = w + <usize>r * stride;
      const q = copy + <usize>(r >> 2) * quad;
      const s = copy
        ? dot4RowsF16Prepared(q, q + 16, q + 32, q + 48, 3, scratch, p, p + stride, p + 2 * stride, p + 3 * stride, x, cols)
        : dot4RowsF16Prepared(p, p + stride, p + 2 * stride, p + 3 * stride, 1, scratch, p, p + stride, p + 2 * stride, p + 3 * stride, x, cols);
      const dst = y + (<usize>r << 2);
      v128.store(dst, f32x4.add(v128.load(dst), s));
    }
    const m = rows - r;
    if (m > 0) {
      const p = w + <usize>r * stride;
      const p1 = m > 1 ? p + stride : p;
      const p2 = m > 2 ? p + 2 * stride : p;
      const s = dot4RowsF16Prepared(p, p1, p2, p, 1, scratch, p, p1, p2, p, x, cols);
      addLanes(y + (<usize>r << 2), 4, s, m);
    }
    return;
  }
  for (; r + 4 <= rows; r += 4) {
    const p = w + <usize>r * stride;
    const s = dot4RowsF16(p, p + stride, p + 2 * stride, p + 3 * stride, x, cols);
    const dst = y + (<usize>r << 2);
    v128.store(dst, f32x4.add(v128.load(dst), s));
  }
  const m = rows - r;
  if (m > 0) {
    const p = w + <usize>r * stride;
    const s = dot4RowsF16(p, m > 1 ? p + stride : p, m > 2 ? p + 2 * stride : p, p, x, cols);
    addLanes(y + (<usize>r << 2), 4, s, m);
  }
}
