/**
 * Reference (for the tests) kernels on SparseBlocks matrices — same semantics and activation
 * quantization as as/blocks.ts, summed in f64. Block row i's blocks are entries rowPtr[i] .. rowPtr[i+1]−1
 * of `blockIdx` and of the values (block k's blockRows × blockCols values at k·blockRows·blockCols, row by
 * row; values outside rows × cols are padding, never read).
 * @module
 */
import { quantizeActivations } from "./quantized.ref.ts";

/** The values of a SparseBlocks matrix: f32, or int8 codes with one scale per `group` values. */
export type BlockValues =
  | { kind: "f32"; data: Float32Array }
  | { kind: "int8"; data: Uint8Array; scales: Float32Array; group: number };

/** The kernels' `valKind` argument for each value type. */
export const BLOCK_VAL_KIND = { f32: 0, int8: 2 } as const;

/** A SparseBlocks matrix as the kernels read it. */
export interface BlocksMatrix {
  rowPtr: Uint32Array;
  blockIdx: Uint16Array | Uint32Array;
  values: BlockValues;
  blockRows: number;
  blockCols: number;
  rows: number;
  cols: number;
}

const code = (v: Uint8Array, i: number) => (v[i] << 24) >> 24;

/** The kept (k, column, value index) triples of row r, columns < cols. */
function* rowEntries(m: BlocksMatrix, r: number): Generator<[number, number, number]> {
  const c = m.blockCols;
  const i = Math.floor(r / m.blockRows);
  const q = r - i * m.blockRows;
  for (let k = m.rowPtr[i]; k < m.rowPtr[i + 1]; k++) {
    const start = m.blockIdx[k] * c;
    for (let j = 0; j < c && start + j < m.cols; j++) yield [k, start + j, (k * m.blockRows + q) * c + j];
  }
}

/**
 * y (rows) += W·x. int8 values: x quantized to int16 with one scale (as the quantized kernels; `levels`
 * RELAXED_Q8_LEVELS for the relaxed module's blocks_matmat_q8r, 7 bits), exact integer sums per scale,
 * · scale, the row · sx; x with Inf/NaN: Σ fround(q · scale) · x.
 *
 * @example
 * ```ts
 * // [[0, 0, 0, 0, 5, 6, 7, 8]] with one kept block of 4 (block 1), f32 values
 * const m = { rowPtr: new Uint32Array([0, 1]), blockIdx: new Uint16Array([1]), blockRows: 1, blockCols: 4, rows: 1, cols: 8,
 *   values: { kind: "f32" as const, data: new Float32Array([5, 6, 7, 8]) } };
 * const y = new Float32Array(1);
 * blocksMatvec(m, new Float32Array([1, 1, 1, 1, 1, 0, 0, 0]), y); // y = [5]
 * ```
 */
export function blocksMatvec(m: BlocksMatrix, x: Float32Array, y: Float32Array, levels?: number): void {
  if (m.rows <= 0 || m.cols <= 0) return;
  const v = m.values;
  if (v.kind === "f32") {
    for (let r = 0; r < m.rows; r++) {
      let s = 0;
      for (const [, col, i] of rowEntries(m, r)) s += v.data[i] * x[col];
      y[r] += s;
    }
    return;
  }
  const { xq, sx } = quantizeActivations(x.subarray(0, m.cols), levels);
  if (sx === 0) return;
  for (let r = 0; r < m.rows; r++) {
    let s = 0;
    if (Number.isNaN(sx)) {
      for (const [, col, i] of rowEntries(m, r)) {
        s += Math.fround(code(v.data, i) * v.scales[Math.floor(i / v.group)]) * x[col];
      }
      y[r] += s;
      continue;
    }
    // Integer sums per scale (every stored value of a group uses one scale), then · scale.
    const sums = new Map<number, number>();
    for (const [, col, i] of rowEntries(m, r)) {
      const g = Math.floor(i / v.group);
      sums.set(g, (sums.get(g) ?? 0) + code(v.data, i) * xq[col]);
    }
    for (const [g, isum] of sums) s += isum * v.scales[g];
    y[r] += s * sx;
  }
}

/** Y (n, rows) += X (n, cols) · Wᵀ, one timestep at a time. */
export function blocksMatmat(m: BlocksMatrix, x: Float32Array, n: number, y: Float32Array): void {
  for (let t = 0; t < n; t++) {
    blocksMatvec(m, x.subarray(t * m.cols, (t + 1) * m.cols), y.subarray(t * m.rows, (t + 1) * m.rows));
  }
}

/** out (cols) ← row `row` of W, zeros in dropped blocks (int8: fround(q · scale)). */
export function blocksGather(m: BlocksMatrix, row: number, out: Float32Array): void {
  out.fill(0, 0, m.cols);
  const v = m.values;
  for (const [, col, i] of rowEntries(m, row)) {
    out[col] = v.kind === "f32"
      ? v.data[i]
      : Math.fround(code(v.data, i) * v.scales[Math.floor(i / v.group)]);
  }
}
