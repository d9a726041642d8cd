/**
 * The pruned-matrix operators, for what the "prune" method (compiler/methods/prune.ts,
 * prune_blocks.ts) writes.
 *
 * SparseCsr (schema/SPEC.md "SparseCsr"): the kernels walk row pointers, column indices (16 or 32 bits)
 * and values (a 1 × nnz leaf: f32, f16, int8 or int4 with group scales along the non-zeros) as stored.
 *
 *   matvec     csr_matvec   y[r] += Σ_k v_k · x[col_k]          nnz multiply-adds, scalar (no SIMD gather)
 *   matmat     csr_matmat   four timesteps per pass over the non-zeros
 *   gatherRow  csr_gather   the row as dense, zeros elsewhere
 * No scratch.
 *
 * SparseBlocks (schema/SPEC.md "SparseBlocks"): kept R × C blocks, each R dense SIMD dot products that
 * share one load of x.
 *
 *   matvec     blocks_matvec   y[r] += Σ_blocks v_b[r] · x[j·C .. j·C + C)   int8: x as int16 first
 *   matmat     blocks_matmat   one matvec per timestep
 *   gatherRow  blocks_gather   the row as dense, zeros in dropped blocks
 * Scratch: blocksScratchBytes(cols) (x copied, zero-padded to whole blocks).
 * @module
 */
import type { KernelInstance } from "../kernels/kernels.ts";
import { blocksScratchBytes } from "../kernels/scratch.ts";
import type { SparseBlocksInfo, SparseCsrInfo } from "../format/read.ts";
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

/** Scratch bytes the operator of SparseBlocks matrix `m` needs. */
export function blocksScratchBytesOf(m: SparseBlocksInfo): number {
  return blocksScratchBytes(m.cols);
}

/** The operator for a SparseBlocks matrix of a loaded file; `scratch`: {@link blocksScratchBytesOf}(m) bytes. */
export function blocksOperator(m: SparseBlocksInfo, k: KernelInstance, scratch: number): MatrixOperator {
  const ex = k.exports;
  const { rows, cols } = m;
  const v = m.values;
  const args = [
    m.rowPtrOffset,
    m.blockIdxOffset,
    v.dataOffset,
    valueKind(v),
    v.kind === "quantized" ? v.scalesOffset : 0,
    v.kind === "quantized" ? v.groupSize : 1,
    m.blockRows,
    m.blockCols,
  ] as const;
  return {
    rows,
    cols,
    matvec: (x, y) => ex.blocks_matvec(...args, rows, cols, x, y, scratch),
    matmat: (x, n, y) => ex.blocks_matmat(...args, rows, cols, x, n, y, scratch),
    gatherRow: (row, out) => ex.blocks_gather(...args, cols, row, out),
  };
}
