// Matrix × vector, accumulating: y[r] += Σ_c W[r·cols + c] · x[c]. The caller pre-fills y (bias or zeros).
// Four rows of W per pass share each load of x (see dot.ts); the last rows % 4 rows take one more pass with
// the unused lanes discarded. Sizes ≤ 0 do nothing.

import { addLanes, dot4_f32, dot4RowsF16 } from "./dot";

/** W: (rows, cols) row-major f32 at w; x: (cols) f32; y: (rows) f32, accumulated. */
export function matvec_f32(w: usize, rows: i32, cols: i32, x: usize, y: usize): void {
  const stride = <usize>cols << 2;
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

/** W: (rows, cols) row-major f16 bits at w (row stride cols·2 bytes); x: (cols) f32; y: (rows) f32, accumulated. */
export function matvec_f16(w: usize, rows: i32, cols: i32, x: usize, y: usize): void {
  const stride = <usize>cols << 1;
  let r = 0;
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
