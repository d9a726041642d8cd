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
export function matvec_f16(w: usize, rows: i32, cols: i32, x: usize, y: usize, scratch: usize, finite: i32): void {
  const stride = <usize>cols << 1;
  let r = 0;
  if (finite && scratch && prepareF16X(x, cols, scratch)) {
    for (; r + 4 <= rows; r += 4) {
      const p = w + <usize>r * stride;
      const s = dot4RowsF16Prepared(p, p + stride, p + 2 * stride, p + 3 * stride, scratch, x, cols);
      const dst = y + (<usize>r << 2);
      v128.store(dst, f32x4.add(v128.load(dst), s));
    }
    const m = rows - r;
    if (m > 0) {
      const p = w + <usize>r * stride;
      const s = dot4RowsF16Prepared(p, m > 1 ? p + stride : p, m > 2 ? p + 2 * stride : p, p, scratch, x, cols);
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
