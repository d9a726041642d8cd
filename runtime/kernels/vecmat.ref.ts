/**
 * Reference (for the tests) vector × matrix, accumulating — same semantics as `vecmat_f32` in
 * as/vecmat.ts. Sums are formed in f64 and added to y once.
 * @module
 */

/**
 * W: rows × cols with row stride `stride` (≥ cols); x: (rows); y: (cols) += Σ_r x[r]·W[r·stride + c].
 *
 * @example
 * ```ts
 * const y = new Float32Array([10, 20, 30]);
 * vecmatF32(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3, 3, new Float32Array([1, -1]), y); // y = [7, 17, 27]
 * ```
 */
export function vecmatF32(
  w: Float32Array,
  rows: number,
  cols: number,
  stride: number,
  x: Float32Array,
  y: Float32Array,
): void {
  for (let c = 0; c < cols; c++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += x[r] * w[r * stride + c];
    y[c] += s;
  }
}
