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
 * Scratch: only for int8/int4 values whose scales the file stores as f16 (their f32 copy).
 *
 * SparseBlocks (schema/SPEC.md "SparseBlocks"): kept R × C blocks, each R dense SIMD dot products that
 * share one load of x.
 *
 *   matvec     blocks_matvec   y[r] += Σ_blocks v_b[r] · x[j·C .. j·C + C)   int8: x as int16 first
 *   matmat     blocks_matmat   one matvec per timestep
 *   gatherRow  blocks_gather   the row as dense, zeros in dropped blocks
 * Scratch: blocksScratchBytes(cols) (x copied, zero-padded to whole blocks), then f16 value scales as f32.
 * @module
 */
import type { KernelInstance } from "../kernels/kernels.ts";
import { blocksScratchBytes } from "../kernels/scratch.ts";
import { f32Scales, f32ScalesScratchBytes } from "./store.ts";
import type { SparseBlocksInfo, SparseCsrInfo } from "../format/read.ts";
import type { MatrixOperator } from "./matrix_operator.ts";

/** The kernels' value-kind argument of a CSR matrix's values. */
function valueKind(v: SparseCsrInfo["values"]): number {
  if (v.kind === "dense") return v.floatType === "f32" ? 0 : 1;
  return v.bits === 8 ? 2 : 3;
}

/** Scratch bytes the operator of SparseCsr matrix `m` needs: an f32 copy of f16 value scales, if any. */
export function pruneScratchBytes(m: SparseCsrInfo): number {
  return m.values.kind === "quantized" ? f32ScalesScratchBytes(m.values) : 0;
}

/**
 * The operator for a SparseCsr matrix of a loaded file (offsets are WASM pointers); `scratch`:
 * {@link pruneScratchBytes}(m) bytes.
 */
export function pruneOperator(m: SparseCsrInfo, k: KernelInstance, scratch: number): MatrixOperator {
  const ex = k.exports;
  const { rows, cols } = m;
  const v = m.values;
  const args = [
    m.rowPtrOffset,
    m.colIdxOffset,
    m.colIdxBits,
    v.dataOffset,
    valueKind(v),
    v.kind === "quantized" ? f32Scales(v, k, scratch) : 0,
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

/** Scratch bytes the operator of SparseBlocks matrix `m` needs: x's copy, then f16 value scales as f32. */
export function blocksScratchBytesOf(m: SparseBlocksInfo): number {
  return blocksScratchBytes(m.cols) + (m.values.kind === "quantized" ? f32ScalesScratchBytes(m.values) : 0);
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
    v.kind === "quantized" ? f32Scales(v, k, scratch + blocksScratchBytes(cols)) : 0,
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
