/**
 * Reference (for the tests) matrix × matrix over a sequence, accumulating — same semantics as
 * `matmat_f32` / `matmat_f16` in as/matmat.ts.
 * @module
 */

import { f16Table } from "./f16.ref.ts";

/**
 * W: (rows, cols); X: (n, cols); Y: (n, rows), all row-major, Y accumulated:
 * Y[t·rows + r] += Σ_c W[r·cols + c]·X[t·cols + c].
 *
 * @example
 * ```ts
 * const y = new Float32Array(4); // n = 2 timesteps × rows = 2
 * matmatF32(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3, new Float32Array([1, 0, 0, 0, 0, 1]), 2, y);
 * // y = [1, 4, 3, 6]
 * ```
 */
export function matmatF32(
  w: Float32Array,
  rows: number,
  cols: number,
  x: Float32Array,
  n: number,
  y: Float32Array,
): void {
  for (let t = 0; t < n; t++) {
    const xb = t * cols;
    const yb = t * rows;
    for (let r = 0; r < rows; r++) {
      const wb = r * cols;
      let s = 0;
      for (let c = 0; c < cols; c++) s += w[wb + c] * x[xb + c];
      y[yb + r] += s;
    }
  }
}

/** As `matmatF32`, with W as f16 bit patterns (rows, cols). */
export function matmatF16(
  w: Uint16Array,
  rows: number,
  cols: number,
  x: Float32Array,
  n: number,
  y: Float32Array,
): void {
  const h = f16Table();
  for (let t = 0; t < n; t++) {
    const xb = t * cols;
    const yb = t * rows;
    for (let r = 0; r < rows; r++) {
      const wb = r * cols;
      let s = 0;
      for (let c = 0; c < cols; c++) s += h[w[wb + c]] * x[xb + c];
      y[yb + r] += s;
    }
  }
}
