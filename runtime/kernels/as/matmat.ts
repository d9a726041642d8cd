// Matrix × matrix over a sequence, accumulating: Y[t·rows + r] += Σ_c W[r·cols + c] · X[t·cols + c].
// The caller pre-fills Y (bias or zeros). Timesteps are taken four at a time: each row of W is read once
// per block of four timesteps (n/4 passes over W instead of n matvecs); the last n % 4 timesteps take one
// more pass with the unused lanes discarded. Sizes ≤ 0 do nothing.

import { addLanes, dot4_f32, dotRowF16X4, dotRowF16X4Prepared } from "./dot";
import { prepareF16X } from "./f16";

/** W: (rows, cols) row-major f32; X: (n, cols) row-major f32; Y: (n, rows) row-major f32, accumulated. */
export function matmat_f32(w: usize, rows: i32, cols: i32, x: usize, n: i32, y: usize): void {
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
    for (let r = 0; r < rows; r++) {
      const s = dot4_f32(x0, x1, x2, x3, w + <usize>r * wStride, cols);
      addLanes(y0 + (<usize>r << 2), yStride, s, m);
    }
  }
}

/**
 * W: (rows, cols) row-major f16 bits (row stride cols·2 bytes); X: (n, cols) f32; Y: (n, rows) f32,
 * accumulated. `scratch` (≥ 4 · cols · 4 bytes, f16ScratchBytes) and `finite` as matvec_f16: four timesteps
 * of x prepared at a time; a block of timesteps where one cannot be prepared runs the exact path.
 */
export function matmat_f16(w: usize, rows: i32, cols: i32, x: usize, n: i32, y: usize, scratch: usize, finite: i32): void {
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
    if (finite && scratch) {
      const s0 = scratch;
      const s1 = s0 + xStride;
      const s2 = s1 + xStride;
      const s3 = s2 + xStride;
      if (prepareF16X(x0, cols, s0) && prepareF16X(x1, cols, s1) && prepareF16X(x2, cols, s2) && prepareF16X(x3, cols, s3)) {
        for (let r = 0; r < rows; r++) {
          const s = dotRowF16X4Prepared(w + <usize>r * wStride, s0, s1, s2, s3, x0, x1, x2, x3, cols);
          addLanes(y0 + (<usize>r << 2), yStride, s, m);
        }
        continue;
      }
    }
    for (let r = 0; r < rows; r++) {
      const s = dotRowF16X4(w + <usize>r * wStride, x0, x1, x2, x3, cols);
      addLanes(y0 + (<usize>r << 2), yStride, s, m);
    }
  }
}
