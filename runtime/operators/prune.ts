/**
 * The SparseCsr operator: the kernels walk row pointers, column indices (16 or 32 bits) and values (a
 * 1 × nnz leaf: f32, f16, int8 or int4 with group scales along the non-zeros) as stored.
 *
 * Runs what the "prune" method (compiler/methods/prune.ts) writes; format: schema/SPEC.md "SparseCsr".
 *
 *   matvec     csr_matvec   y[r] += Σ_k v_k · x[col_k]          nnz multiply-adds, scalar (no SIMD gather)
 *   matmat     csr_matmat   four timesteps per pass over the non-zeros
 *   gatherRow  csr_gather   the row as dense, zeros elsewhere
 * No scratch.
 * @module
 */
import type { KernelInstance } from "../kernels/kernels.ts";
import type { SparseCsrInfo } from "../format/read.ts";
import type { MatrixOperator } from "./matrix_operator.ts";

/** The kernels' value-kind argument of a CSR matrix's values. */
function valueKind(v: SparseCsrInfo["values"]): number {
  if (v.kind === "dense") return v.floatType === "f32" ? 0 : 1;
  return v.bits === 8 ? 2 : 3;
}

/** The operator for a SparseCsr matrix of a loaded file (offsets are WASM pointers). */
export function pruneOperator(m: SparseCsrInfo, k: KernelInstance): MatrixOperator {
  const ex = k.exports;
  const { rows, cols } = m;
  const v = m.values;
  const args = [
    m.rowPtrOffset,
    m.colIdxOffset,
    m.colIdxBits,
    v.dataOffset,
    valueKind(v),
    v.kind === "quantized" ? v.scalesOffset : 0,
    v.kind === "quantized" ? Math.max(1, Math.min(v.groupSize, Math.max(1, m.nnz))) : 1,
  ] as const;
  return {
    rows,
    cols,
    matvec: (x, y) => ex.csr_matvec(...args, rows, x, y),
    matmat: (x, n, y) => ex.csr_matmat(...args, rows, cols, x, n, y),
    gatherRow: (row, out) => ex.csr_gather(...args, cols, row, out),
  };
}
