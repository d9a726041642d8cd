/**
 * Reference (for the tests) kernels on Quantized matrices — same semantics as as/quantized.ts and
 * as/relaxed.ts: int8 (one byte per element) or int4 (two per byte, element 2k in the low nibble of byte k,
 * row stride ⌈cols/2⌉) codes q with x = q · scales[r·⌈cols/group⌉ + ⌊c/group⌋].
 *
 * Products quantize the activation vector first to `levels` steps each side of zero (sx = max|x| / L,
 * xq = round-half-even(x · fround(L / max|x|))) and sum q · xq exactly in integers per group, so
 * `y[r] += sx · Σ_g scale[r, g] · Σ_{c ∈ g} q[r, c] · xq[c]`. L is 32767 (int16: kernels.wasm) by default;
 * the relaxed-SIMD products use {@link RELAXED_Q8_LEVELS} (int8 weights) and {@link RELAXED_Q4_LEVELS}
 * (int4). A vector with Inf/NaN is used as it is: `y[r] += Σ_c (q · scale) · x[c]`.
 * @module
 */

import type { QuantBits } from "./scratch.ts";

/** Activation levels of the plain products (int16). */
export const INT16_LEVELS = 32767;
/** Activation levels of relaxed SIMD's int8 products (7 bits: xq + 64 must fit in 0..127). */
export const RELAXED_Q8_LEVELS = 63;
/** Activation levels of relaxed SIMD's int4 products (8 bits, the dot product's signed operand). */
export const RELAXED_Q4_LEVELS = 127;

/** Round half to even (WASM's `nearest`). */
function nearestEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * x as integer codes in [−levels, levels] with one scale: x ≈ xq · sx. sx = 0 for an all-zero x, NaN when
 * x holds Inf/NaN.
 *
 * @example
 * ```ts
 * quantizeActivations(new Float32Array([0.5, -1])); // { xq: Int16Array [16384, -32767], sx: 1/32767 }
 * quantizeActivations(new Float32Array([0.5, -1]), 63); // { xq: [32, -63], sx: 1/63 } (31.5 → 32)
 * ```
 */
export function quantizeActivations(
  x: Float32Array,
  levels: number = INT16_LEVELS,
): { xq: Int16Array; sx: number } {
  let m = 0;
  for (const v of x) m = Math.max(m, Math.abs(v));
  const xq = new Int16Array(x.length);
  if (!(m <= 3.4028234663852886e38)) return { xq, sx: NaN };
  if (m === 0) return { xq, sx: 0 };
  const inv = Math.fround(levels / m);
  for (let c = 0; c < x.length; c++) xq[c] = nearestEven(Math.fround(x[c] * inv));
  return { xq, sx: Math.fround(m / levels) };
}

/** Code of element (r, c). */
export function quantCode(bits: QuantBits, w: Uint8Array, cols: number, r: number, c: number): number {
  if (bits === 8) return (w[r * cols + c] << 24) >> 24;
  const n = (w[r * ((cols + 1) >> 1) + (c >> 1)] >> (4 * (c & 1))) & 0xf;
  return n >= 8 ? n - 16 : n;
}

function rowProduct(
  bits: QuantBits,
  w: Uint8Array,
  scales: Float32Array,
  r: number,
  cols: number,
  group: number,
  x: Float32Array,
  xq: Int16Array,
  sx: number,
): number {
  const gpr = Math.ceil(cols / group);
  if (Number.isNaN(sx)) {
    let s = 0;
    for (let c = 0; c < cols; c++) {
      s += Math.fround(quantCode(bits, w, cols, r, c) * scales[r * gpr + Math.floor(c / group)]) * x[c];
    }
    return s;
  }
  let s = 0;
  for (let g = 0; g < gpr; g++) {
    let isum = 0;
    for (let c = g * group; c < Math.min(cols, (g + 1) * group); c++) {
      isum += quantCode(bits, w, cols, r, c) * xq[c];
    }
    s += isum * scales[r * gpr + g];
  }
  return s * sx;
}

/**
 * W: (rows, cols) codes with scales; x: (cols); y: (rows) += W·x (x quantized to `levels` as above).
 *
 * @example
 * ```ts
 * const y = new Float32Array(1); // W = [[2, -1]] as int8 codes with one scale 0.5: W = [[1, -0.5]]
 * matvecQuantized(8, new Uint8Array([2, 255]), new Float32Array([0.5]), 1, 2, 2, new Float32Array([1, 1]), y);
 * // y ≈ [0.5]
 * ```
 */
export function matvecQuantized(
  bits: QuantBits,
  w: Uint8Array,
  scales: Float32Array,
  rows: number,
  cols: number,
  group: number,
  x: Float32Array,
  y: Float32Array,
  levels: number = INT16_LEVELS,
): void {
  if (rows <= 0 || cols <= 0) return;
  const g = Math.min(group, cols);
  const { xq, sx } = quantizeActivations(x.subarray(0, cols), levels);
  if (sx === 0) return;
  for (let r = 0; r < rows; r++) y[r] += rowProduct(bits, w, scales, r, cols, g, x, xq, sx);
}

/** W as matvecQuantized; X: (n, cols); Y: (n, rows) += X·Wᵀ (each timestep's x quantized on its own). */
export function matmatQuantized(
  bits: QuantBits,
  w: Uint8Array,
  scales: Float32Array,
  rows: number,
  cols: number,
  group: number,
  x: Float32Array,
  n: number,
  y: Float32Array,
  levels: number = INT16_LEVELS,
): void {
  for (let t = 0; t < n; t++) {
    matvecQuantized(
      bits,
      w,
      scales,
      rows,
      cols,
      group,
      x.subarray(t * cols, (t + 1) * cols),
      y.subarray(t * rows),
      levels,
    );
  }
}

/** out: (cols) ← row `row` of W: fround(q · scale). */
export function gatherQuantized(
  bits: QuantBits,
  w: Uint8Array,
  scales: Float32Array,
  cols: number,
  group: number,
  row: number,
  out: Float32Array,
): void {
  if (cols <= 0) return;
  const g = Math.min(group, cols);
  const gpr = Math.ceil(cols / g);
  for (let c = 0; c < cols; c++) {
    out[c] = quantCode(bits, w, cols, row, c) * scales[row * gpr + Math.floor(c / g)];
  }
}
