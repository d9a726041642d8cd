/**
 * Block pruning (`prune:S:bRxC`): the matrix is cut into blocks of R rows (1 or 4) × C columns (4, 8 or
 * 16), and the blocks with the smallest L2 norms are dropped whole; the kept ones are stored as SparseBlocks
 * (schema/SPEC.md "SparseBlocks"), whose kernels run dense SIMD over each kept block — what makes a pruned
 * matrix faster than a dense one, where unstructured CSR (one scalar multiply-add per non-zero) is not.
 *
 * Runs in runtime/operators/prune.ts (kernels: runtime/kernels/as/blocks.ts).
 *
 * - Per tensor: exactly round(sparsity · blocks) blocks are dropped (ties by position, first dropped
 *   first), blocks = ceil(rows / R) · ceil(cols / C); blocks on the last block row or column may reach
 *   past the matrix (that padding counts as zeros in their norm, is stored as 0 and never read).
 * - Global scope: one threshold on block norms for a set of matrices ({@link globalPruneThreshold} with
 *   the block width), ties kept.
 * - Values: f32, or int8 with one scale per group of consecutive stored values (default 512, a multiple
 *   of every block size; a given group size must be a multiple of R·C, so no block straddles two scales).
 *   f16 and int4 values are not offered: the block kernels run f32 and int8.
 *   Why 512: the kernels sum each run of one scale in integers and fold it into the row's float sum when the
 *   run ends, once per 512 codes at most; with 64 that fold came every two 4 × 8 blocks and made the
 *   product 1.4× slower (decoder-shaped 80 %: 32.6 → 22.6 µs). Measured on PTB-small (test perplexity):
 *   prune:0.8:b4x8+int8 re-trained 2 epochs by models/finetune.py at 64: 157.428 (1,292,560 bytes), at
 *   512: 157.518 (1,241,776 bytes); post-training 528.98 → 528.63 (b4x8), 645.00 → 646.16 (b4x16),
 *   prune:0.5:b1x8 128.68 → 128.66.
 * @module
 */
import type { IrMatrix } from "../ir.ts";
import type { EncodedMatrix } from "../encoded.ts";
import type { StorageSpec } from "./method.ts";
import { decodeStorage, encodeStorage } from "./storage.ts";

/** A block of pruning: `rows` (1 or 4) × `cols` (4, 8 or 16). */
export interface BlockShape {
  rows: number;
  cols: number;
}

/** Block heights and widths the SparseBlocks kernels run. */
export const BLOCK_ROWS: readonly number[] = [1, 4];
export const BLOCK_COLS: readonly number[] = [4, 8, 16];

/** int8 block values: stored values per scale unless the storage spec gives a group size. */
export const BLOCK_INT8_DEFAULT_GROUP = 512;

/** The block shape of a prune spec, or undefined for unstructured (CSR) pruning. */
export function blockShapeOf(spec: { blockRows?: number; blockCols?: number }): BlockShape | undefined {
  if (spec.blockRows === undefined && spec.blockCols === undefined) return undefined;
  return { rows: spec.blockRows ?? 1, cols: spec.blockCols ?? NaN };
}

/** Throws unless the block shape and the value storage can be stored as SparseBlocks. */
export function checkBlockSpec(block: BlockShape, storage: StorageSpec): void {
  if (!BLOCK_ROWS.includes(block.rows) || !BLOCK_COLS.includes(block.cols)) {
    throw new Error(
      `block pruning takes blocks of 1 or 4 rows × 4, 8 or 16 columns, got ${block.rows} × ${block.cols}`,
    );
  }
  const t = storage.type;
  if (t !== "f32" && t !== "int8") {
    throw new Error(`block-pruned values are stored as f32 or int8 (the block kernels' types), not ${t}`);
  }
  const size = block.rows * block.cols;
  const g = storage.groupSize;
  if (t === "int8" && g !== undefined && g % size !== 0) {
    throw new Error(
      `int8 block values need a group size that is a multiple of the block size ${size}, got ${g}`,
    );
  }
}

/** The storage of block values: int8 gets group scales along the stored values (module doc). */
export function blockValueStorage(storage: StorageSpec, block: BlockShape): StorageSpec {
  if (storage.type !== "int8" || storage.groupSize !== undefined) return storage;
  const size = block.rows * block.cols;
  return { ...storage, groupSize: Math.ceil(BLOCK_INT8_DEFAULT_GROUP / size) * size };
}

/** Blocks of each block row, and block rows, of an m.rows × m.cols matrix. */
function blockGrid(m: { rows: number; cols: number }, block: BlockShape) {
  return { per: Math.ceil(m.cols / block.cols), blockRows: Math.ceil(m.rows / block.rows) };
}

/** L2 norm of each block, block row by block row: ceil(rows / R) · ceil(cols / C) entries. */
export function blockNorms(m: IrMatrix, block: BlockShape): Float32Array {
  const { per, blockRows } = blockGrid(m, block);
  const out = new Float32Array(blockRows * per);
  for (let i = 0; i < blockRows; i++) {
    for (let j = 0; j < per; j++) {
      let s = 0;
      for (let r = i * block.rows; r < Math.min(m.rows, (i + 1) * block.rows); r++) {
        for (let c = j * block.cols; c < Math.min(m.cols, (j + 1) * block.cols); c++) {
          s += m.data[r * m.cols + c] ** 2;
        }
      }
      out[i * per + j] = Math.sqrt(s);
    }
  }
  return out;
}

/**
 * Stores the kept blocks of `m` (keep[i · ceil(cols / C) + j] ≠ 0 for block (i, j)) as SparseBlocks with
 * values in `storage` (f32 or int8), 16-bit block indices (a matrix of more than 65536 blocks per row is
 * an error).
 */
export function encodeBlocks(
  m: IrMatrix,
  keep: Uint8Array,
  storage: StorageSpec,
  block: BlockShape,
): EncodedMatrix {
  checkBlockSpec(block, storage);
  const { per, blockRows } = blockGrid(m, block);
  if (per > 65536) {
    throw new Error(
      `Matrix "${m.name}": ${per} blocks per row do not fit SparseBlocks' 16-bit block indices; prune it unstructured (prune:S)`,
    );
  }
  let n = 0;
  for (let i = 0; i < blockRows * per; i++) if (keep[i]) n++;
  const size = block.rows * block.cols;
  const rowPtr = new Uint32Array(blockRows + 1);
  const blockIdx = new Uint16Array(n);
  const values = new Float32Array(n * size); // padding stays 0
  let k = 0;
  for (let i = 0; i < blockRows; i++) {
    for (let j = 0; j < per; j++) {
      if (!keep[i * per + j]) continue;
      blockIdx[k] = j;
      for (let r = i * block.rows; r < Math.min(m.rows, (i + 1) * block.rows); r++) {
        for (let c = j * block.cols; c < Math.min(m.cols, (j + 1) * block.cols); c++) {
          values[k * size + (r - i * block.rows) * block.cols + c - j * block.cols] = m.data[r * m.cols + c];
        }
      }
      k++;
    }
    rowPtr[i + 1] = k;
  }
  const v = encodeStorage(
    { name: `${m.name}.values`, rows: 1, cols: n * size, data: values },
    blockValueStorage(storage, block),
  );
  return {
    name: m.name,
    rows: m.rows,
    cols: m.cols,
    encoding: { kind: "blocks", blockRows: block.rows, blockCols: block.cols, rowPtr, blockIdx, values: v },
  };
}

/** Dense float32 reconstruction of a SparseBlocks matrix (zeros in dropped blocks). */
export function blocksToDense(e: EncodedMatrix): Float32Array {
  const enc = e.encoding;
  if (enc.kind !== "blocks") throw new Error(`blocksToDense: "${e.name}" is ${enc.kind}, not blocks`);
  const values = decodeStorage(enc.values);
  const [br, bc] = [enc.blockRows, enc.blockCols];
  const out = new Float32Array(e.rows * e.cols);
  for (let i = 0; i + 1 < enc.rowPtr.length; i++) {
    for (let k = enc.rowPtr[i]; k < enc.rowPtr[i + 1]; k++) {
      const j = enc.blockIdx[k];
      for (let r = i * br; r < Math.min(e.rows, (i + 1) * br); r++) {
        for (let c = j * bc; c < Math.min(e.cols, (j + 1) * bc); c++) {
          out[r * e.cols + c] = values[k * br * bc + (r - i * br) * bc + c - j * bc];
        }
      }
    }
  }
  return out;
}
