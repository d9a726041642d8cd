/**
 * Reference (for the tests) row gather — same semantics as `gather_f32` / `gather_f16` in
 * as/gather.ts.
 * @module
 */

import { f16Table } from "./f16.ref.ts";

/**
 * W: (·, cols) row-major; out: (cols), overwritten with row `row`: out[c] = W[row·cols + c].
 *
 * @example
 * ```ts
 * const out = new Float32Array(3);
 * gatherF32(new Float32Array([1, 2, 3, 4, 5, 6]), 3, 1, out); // out = [4, 5, 6]
 * ```
 */
export function gatherF32(w: Float32Array, cols: number, row: number, out: Float32Array): void {
  out.set(w.subarray(row * cols, row * cols + cols));
}

/** As `gatherF32`, with W as f16 bit patterns, decoded to f32. */
export function gatherF16(w: Uint16Array, cols: number, row: number, out: Float32Array): void {
  const h = f16Table();
  const base = row * cols;
  for (let c = 0; c < cols; c++) out[c] = h[w[base + c]];
}
