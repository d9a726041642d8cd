/**
 * Reference (for the tests) matrix × vector, accumulating — same semantics as `matvec_f32` /
 * `matvec_f16` in as/matvec.ts. Sums are formed in f64 and added to y once, so these are at least as
 * accurate as the WASM kernels.
 * @module
 */

import { f16Table } from "./f16.ref.ts";

/**
 * W: (rows, cols) row-major; x: (cols); y: (rows), accumulated: y[r] += Σ_c W[r·cols + c]·x[c].
 *
 * @example
 * ```ts
 * const y = new Float32Array([10, 20]);
 * matvecF32(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3, new Float32Array([1, 0, -1]), y); // y = [8, 18]
 * ```
 */
export function matvecF32(
  w: Float32Array,
  rows: number,
  cols: number,
  x: Float32Array,
  y: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let s = 0;
    for (let c = 0; c < cols; c++) s += w[base + c] * x[c];
    y[r] += s;
  }
}

/** As `matvecF32`, with W as f16 bit patterns (rows, cols). */
export function matvecF16(
  w: Uint16Array,
  rows: number,
  cols: number,
  x: Float32Array,
  y: Float32Array,
): void {
  const h = f16Table();
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let s = 0;
    for (let c = 0; c < cols; c++) s += h[w[base + c]] * x[c];
    y[r] += s;
  }
}
