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
 * With the relaxed module, int8 values and 16-bit indices, products run csr_matvec_q8r / csr_matmat_q8r
 * instead, on a sliced copy of the non-zeros (runtime/operators/csr_slices.ts: 16 gathered by one
 * swizzle, x quantized to 7 bits as for dense int8), written at the first product; the plain kernels
 * when x holds an Inf or NaN.
 * Scratch: the f32 copy of int8/int4 value scales the file stores as f16; for the sliced products also
 * quantizedScratchBytes(cols) and the sliced copy (its size depends on where the non-zeros are, so it is
 * counted from the loaded file: {@link pruneScratchBytes} takes the kernel instance).
 *
 * SparseBlocks (schema/SPEC.md "SparseBlocks"): kept R × C blocks, each R dense SIMD dot products that
 * share one load of x.
 *
 *   matvec     blocks_matvec   y[r] += Σ_blocks v_b[r] · x[j·C .. j·C + C)   int8: x as int16 first
 *   matmat     blocks_matmat   one matvec per timestep
 *   gatherRow  blocks_gather   the row as dense, zeros in dropped blocks
 * With the relaxed module, 4 × 8 and 4 × 16 int8 blocks run blocks_matmat_q8r (x to 7 bits, i8 × i7 dot
 * products) for both products; the plain kernels when x holds an Inf or NaN.
 * Scratch: blocksScratchBytes(cols) (x copied, zero-padded to whole blocks), then f16 value scales as f32.
 * @module
 */
import type { KernelInstance } from "../kernels/kernels.ts";
import { blocksScratchBytes, quantizedScratchBytes } from "../kernels/scratch.ts";
import { type CsrPositions, type SliceCounts, sliceCounts, slicedBytes, writeSlices } from "./csr_slices.ts";
import { f32Scales, f32ScalesScratchBytes } from "./store.ts";
import type { SparseBlocksInfo, SparseCsrInfo } from "../format/read.ts";
import type { MatrixOperator } from "./matrix_operator.ts";

/** The kernels' value-kind argument of a CSR matrix's values. */
function valueKind(v: SparseCsrInfo["values"]): number {
  if (v.kind === "dense") return v.floatType === "f32" ? 0 : 1;
  return v.bits === 8 ? 2 : 3;
}

/** Non-zeros per scale of CSR matrix `m`'s values (1 for float values). */
function csrGroup(m: SparseCsrInfo): number {
  return m.values.kind === "quantized" ? Math.max(1, Math.min(m.values.groupSize, Math.max(1, m.nnz))) : 1;
}

/**
 * Where `m`'s non-zeros are in `k`'s memory, when its products run sliced (module doc; not for a matrix
 * whose rows are only gathered, the embedding); else undefined.
 */
function slicedPositions(m: SparseCsrInfo, k: KernelInstance, gathers?: boolean): CsrPositions | undefined {
  const v = m.values;
  if (gathers || !k.relaxed || m.colIdxBits !== 16 || v.kind !== "quantized" || v.bits !== 8 || !m.nnz) {
    return;
  }
  const buffer = k.memory.buffer;
  return {
    rows: m.rows,
    rowPtr: new Uint32Array(buffer, m.rowPtrOffset, m.rows + 1),
    colIdx: new Uint16Array(buffer, m.colIdxOffset, m.nnz),
    group: csrGroup(m),
  };
}

/**
 * The slice counts of `m`'s sliced copy, counted once per matrix: the scratch size at load and the
 * operator both need them, and each count walks every non-zero.
 */
const countsOf = new WeakMap<SparseCsrInfo, SliceCounts>();
function slicedCounts(m: SparseCsrInfo, p: CsrPositions): SliceCounts {
  let c = countsOf.get(m);
  if (c === undefined) countsOf.set(m, c = sliceCounts(p));
  return c;
}

/**
 * Scratch bytes the operator of SparseCsr matrix `m` needs in `k` (its file loaded there; `gathers`: only
 * its rows are read): an f32 copy of f16 value scales, if any, then for sliced products x's codes and the
 * sliced copy.
 */
export function pruneScratchBytes(m: SparseCsrInfo, k: KernelInstance, gathers?: boolean): number {
  const scales = m.values.kind === "quantized" ? f32ScalesScratchBytes(m.values) : 0;
  const p = slicedPositions(m, k, gathers);
  return scales + (p ? quantizedScratchBytes(m.cols) + slicedBytes(slicedCounts(m, p)) : 0);
}

/**
 * The operator for a SparseCsr matrix of a loaded file (offsets are WASM pointers); `scratch`:
 * {@link pruneScratchBytes}(m, k, gathers) bytes.
 */
export function pruneOperator(
  m: SparseCsrInfo,
  k: KernelInstance,
  scratch: number,
  gathers?: boolean,
): MatrixOperator {
  const ex = k.exports;
  const { rows, cols } = m;
  const v = m.values;
  const scales = v.kind === "quantized" ? f32Scales(v, k, scratch) : 0;
  const args = [
    m.rowPtrOffset,
    m.colIdxOffset,
    m.colIdxBits,
    v.dataOffset,
    valueKind(v),
    scales,
    csrGroup(m),
  ] as const;
  const plain: MatrixOperator = {
    rows,
    cols,
    matvec: (x, y) => ex.csr_matvec(...args, rows, x, y),
    matmat: (x, n, y) => ex.csr_matmat(...args, rows, cols, x, n, y),
    gatherRow: (row, out) => ex.csr_gather(...args, cols, row, out),
  };
  const p = slicedPositions(m, k, gathers);
  const rx = k.relaxed;
  if (!p || !rx) return plain;
  const xCodes = scratch + (v.kind === "quantized" ? f32ScalesScratchBytes(v) : 0);
  const sliced = xCodes + quantizedScratchBytes(cols);
  const { quads, slices } = slicedCounts(m, p);
  let written = false;
  const ready = () => {
    if (!written) {
      // Views made now: a memory grown since the operator was built would have detached older ones.
      const buffer = k.memory.buffer;
      const arrays = {
        ...slicedPositions(m, k, gathers)!,
        codes: new Int8Array(buffer, v.dataOffset, m.nnz),
        scales: new Float32Array(buffer, scales, Math.ceil(m.nnz / p.group)),
      };
      writeSlices(arrays, new Uint8Array(buffer, sliced, slicedBytes({ quads, slices })), { quads, slices });
      written = true;
    }
    return sliced;
  };
  // A sliced product returns 0, having written nothing, when x holds Inf/NaN: the plain kernel then runs.
  return {
    ...plain,
    matvec: (x, y) => {
      if (!rx.csr_matvec_q8r(ready(), quads, slices, cols, x, y, xCodes)) plain.matvec(x, y);
    },
    matmat: (x, n, y) => {
      if (!rx.csr_matmat_q8r(ready(), quads, slices, rows, cols, x, n, y, xCodes)) plain.matmat(x, n, y);
    },
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
  const plain: MatrixOperator = {
    rows,
    cols,
    matvec: (x, y) => ex.blocks_matvec(...args, rows, cols, x, y, scratch),
    matmat: (x, n, y) => ex.blocks_matmat(...args, rows, cols, x, n, y, scratch),
    gatherRow: (row, out) => ex.blocks_gather(...args, cols, row, out),
  };
  const rx = k.relaxed;
  if (!rx || v.kind !== "quantized" || m.blockRows !== 4 || m.blockCols < 8) return plain;
  // 4 × 8 and 4 × 16 int8 blocks with relaxed SIMD: x to 7 bits, i8 × i7 dot products (kernels/as/relaxed.ts);
  // 0 back: x holds Inf/NaN.
  const q = [args[0], args[1], args[2], args[4], args[5], m.blockCols, rows, cols] as const;
  return {
    ...plain,
    matvec: (x, y) => {
      if (!rx.blocks_matmat_q8r(...q, x, 1, y, scratch)) plain.matvec(x, y);
    },
    matmat: (x, n, y) => {
      if (!rx.blocks_matmat_q8r(...q, x, n, y, scratch)) plain.matmat(x, n, y);
    },
  };
}
