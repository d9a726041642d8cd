/**
 * Operators for leaf matrices — Dense (f32, f16) and Quantized (int8 per row/group, int4 per group) — the
 * matrices that stand alone or sit inside LowRank factors, TT cores and CSR values. Each runs its WASM
 * kernel on the stored bytes: nothing is expanded to dense.
 *
 *   dense f32/f16   matvec_f32/f16, matmat_f32/f16, gather_f32/f16        no scratch
 *   int8 / int4     matvec_q8/q4, matmat_q8/q4, gather_q8/q4               scratch: int16 copies of x
 *                   (4 timesteps × ceil32(cols) × 2 bytes, see kernels/as/quantized.ts)
 * @module
 */
import type { KernelInstance } from "../kernels/kernels.ts";
import type { LeafInfo } from "../format/read.ts";
import type { MatrixOperator } from "../matrix_operator.ts";
import { quantizedScratchBytes } from "../kernels/quantized.ref.ts";

/** Scratch bytes the operator of leaf `m` needs (shapes only). */
export function leafScratchBytes(m: LeafInfo): number {
  return m.kind === "quantized" ? quantizedScratchBytes(m.cols) : 0;
}

/**
 * The operator for a leaf matrix of a loaded file (offsets are WASM pointers). `scratch` points at
 * {@link leafScratchBytes}(m) bytes, 16-byte aligned, that belong to this operator alone.
 *
 * @example
 * ```ts
 * const op = leafOperator(file.decoder as LeafInfo, kernels, scratch);
 * op.matvec(xPtr, logitsPtr); // logits += decoder · x
 * ```
 */
export function leafOperator(m: LeafInfo, k: KernelInstance, scratch: number): MatrixOperator {
  const ex = k.exports;
  const { rows, cols } = m;
  if (m.kind === "dense") {
    const w = m.dataOffset;
    if (m.floatType === "f32") {
      return {
        rows,
        cols,
        matvec: (x, y) => ex.matvec_f32(w, rows, cols, x, y),
        matmat: (x, n, y) => ex.matmat_f32(w, rows, cols, x, n, y),
        gatherRow: (row, out) => ex.gather_f32(w, cols, row, out),
      };
    }
    return {
      rows,
      cols,
      matvec: (x, y) => ex.matvec_f16(w, rows, cols, x, y),
      matmat: (x, n, y) => ex.matmat_f16(w, rows, cols, x, n, y),
      gatherRow: (row, out) => ex.gather_f16(w, cols, row, out),
    };
  }
  const w = m.dataOffset;
  const s = m.scalesOffset;
  // A group_size ≥ cols means one scale per row; the kernels take it clamped to cols.
  const g = Math.max(1, Math.min(m.groupSize, cols));
  if (m.bits === 8) {
    return {
      rows,
      cols,
      matvec: (x, y) => ex.matvec_q8(w, s, rows, cols, g, x, y, scratch),
      matmat: (x, n, y) => ex.matmat_q8(w, s, rows, cols, g, x, n, y, scratch),
      gatherRow: (row, out) => ex.gather_q8(w, s, cols, g, row, out),
    };
  }
  return {
    rows,
    cols,
    matvec: (x, y) => ex.matvec_q4(w, s, rows, cols, g, x, y, scratch),
    matmat: (x, n, y) => ex.matmat_q4(w, s, rows, cols, g, x, n, y, scratch),
    gatherRow: (row, out) => ex.gather_q4(w, s, cols, g, row, out),
  };
}
