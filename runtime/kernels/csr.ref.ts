/**
 * Reference (for the tests) kernels on SparseCsr matrices — same semantics as as/csr.ts. Row r's
 * non-zeros are entries rowPtr[r] .. rowPtr[r+1]−1 of `colIdx` and of the values.
 * @module
 */

import { f16Table } from "./f16.ref.ts";
import { quantizeActivations, RELAXED_Q8_LEVELS } from "./quantized.ref.ts";

/** The values of a CSR matrix: a 1 × nnz leaf (f32, f16 bits, int8 or int4 codes with group scales). */
export type CsrValues =
  | { kind: "f32"; data: Float32Array }
  | { kind: "f16"; data: Uint16Array }
  | { kind: "int8" | "int4"; data: Uint8Array; scales: Float32Array; group: number };

/** The kernels' `valKind` argument for each value type. */
export const CSR_VAL_KIND = { f32: 0, f16: 1, int8: 2, int4: 3 } as const;

/** Value k as f32 (int8/int4: fround(q · scales[⌊k/group⌋])). */
export function csrValue(v: CsrValues, k: number): number {
  switch (v.kind) {
    case "f32":
      return v.data[k];
    case "f16":
      return f16Table()[v.data[k]];
    case "int8":
      return Math.fround(((v.data[k] << 24) >> 24) * v.scales[Math.floor(k / v.group)]);
    case "int4": {
      const n = (v.data[k >> 1] >> (4 * (k & 1))) & 0xf;
      return Math.fround((n >= 8 ? n - 16 : n) * v.scales[Math.floor(k / v.group)]);
    }
  }
}

/**
 * y (rows) += W·x.
 *
 * @example
 * ```ts
 * // [[0, 5], [7, 0]] · [1, 2]
 * const y = new Float32Array(2);
 * csrMatvec(new Uint32Array([0, 1, 2]), new Uint16Array([1, 0]), { kind: "f32", data: new Float32Array([5, 7]) }, 2, new Float32Array([1, 2]), y);
 * // y = [10, 7]
 * ```
 */
export function csrMatvec(
  rowPtr: Uint32Array,
  colIdx: Uint16Array | Uint32Array,
  values: CsrValues,
  rows: number,
  x: Float32Array,
  y: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let k = rowPtr[r]; k < rowPtr[r + 1]; k++) s += csrValue(values, k) * x[colIdx[k]];
    y[r] += s;
  }
}

/** Y (n, rows) += X (n, cols) · Wᵀ. */
export function csrMatmat(
  rowPtr: Uint32Array,
  colIdx: Uint16Array | Uint32Array,
  values: CsrValues,
  rows: number,
  cols: number,
  x: Float32Array,
  n: number,
  y: Float32Array,
): void {
  for (let t = 0; t < n; t++) {
    csrMatvec(rowPtr, colIdx, values, rows, x.subarray(t * cols, (t + 1) * cols), y.subarray(t * rows));
  }
}

/** out (cols) ← row `row` of W, zeros where nothing is stored. */
export function csrGather(
  rowPtr: Uint32Array,
  colIdx: Uint16Array | Uint32Array,
  values: CsrValues,
  cols: number,
  row: number,
  out: Float32Array,
): void {
  out.fill(0, 0, cols);
  for (let k = rowPtr[row]; k < rowPtr[row + 1]; k++) out[colIdx[k]] = csrValue(values, k);
}

/**
 * csr_matvec_q8r (the relaxed module's product on the sliced copy of runtime/operators/csr_slices.ts):
 * int8 codes; x quantized to 7 bits as for the relaxed dense int8 products; each run of a row's
 * non-zeros in one scale group summed exactly in integers, then, run by run,
 * y[r] = fround(y[r] + fround(fround(Σ q·xq) · fround(scale · sx))). y is left as is for an all-zero x.
 * (The kernel adds a row's runs in its layout's order, not always the row's: equal up to f32 rounding.)
 */
export function csrMatvecSliced(
  rowPtr: Uint32Array,
  colIdx: Uint16Array,
  codes: Int8Array,
  scales: Float32Array,
  group: number,
  rows: number,
  x: Float32Array,
  y: Float32Array,
): void {
  const { xq, sx } = quantizeActivations(x, RELAXED_Q8_LEVELS);
  if (sx === 0) return;
  for (let r = 0; r < rows; r++) {
    for (let k = rowPtr[r]; k < rowPtr[r + 1];) {
      const end = Math.min(rowPtr[r + 1], (Math.floor(k / group) + 1) * group);
      const scale = Math.fround(scales[Math.floor(k / group)] * sx);
      let sum = 0;
      for (; k < end; k++) sum += codes[k] * xq[colIdx[k]];
      y[r] = Math.fround(y[r] + Math.fround(Math.fround(sum) * scale));
    }
  }
}
