/**
 * One interface over every matrix encoding, so the engine never asks how a matrix is stored. Each
 * operator computes directly on the encoded bytes in WASM memory (no expansion to dense).
 * @module
 */
import type { KernelInstance } from "../kernels/kernels.ts";
import type { MatrixInfo } from "../format/read.ts";
import { storeOperator, storeScratchBytes } from "./store.ts";
import { blocksOperator, blocksScratchBytesOf, pruneOperator, pruneScratchBytes } from "./prune.ts";
import { lowRankOperator, lowRankScratchBytes, type StoreOperators } from "./lowrank.ts";
import { tensorTrainOperator, tensorTrainScratchBytes } from "./tt.ts";

/** A rows × cols matrix W, all arguments are byte pointers into the kernels' memory, f32 activations. */
export interface MatrixOperator {
  readonly rows: number;
  readonly cols: number;
  /** y (rows) += W · x (cols) */
  matvec(x: number, y: number): void;
  /** Y (n × rows) += X (n × cols) · Wᵀ */
  matmat(x: number, n: number, y: number): void;
  /**
   * Y (n × rows) = bias (rows, every timestep) + X · Wᵀ, Y written without being read (no pre-fill): where
   * an encoding has such a kernel (dense f32); otherwise fill Y and call matmat.
   */
  matmatBias?(x: number, n: number, y: number, bias: number): void;
  /** out (cols) = W[row, :] */
  gatherRow(row: number, out: number): void;
}

/** Thrown when a file uses an encoding this runtime cannot execute. */
export class UnsupportedEncodingError extends Error {
  override name = "UnsupportedEncodingError";
}

/**
 * How the engine will use a matrix: `gathers`, its rows are gathered and it is not multiplied (the
 * embedding): TT keeps its rows' partial products, CSR makes no sliced copy for products.
 */
export interface MatrixUse {
  gathers?: boolean;
}

/**
 * Bytes of scratch memory the operator for `m` needs in `k` (e.g. the rank-sized intermediate of a low-rank
 * product), reserved by the engine at load, with the file already in `k`'s memory. Depends on shapes,
 * `use` (a gathered TT matrix keeps its rows' shared partial products, runtime/operators/tt.ts) and, for
 * CSR with int8 values where `k` has the relaxed module, where the non-zeros are (its sliced copy,
 * runtime/operators/csr_slices.ts).
 */
export function operatorScratchBytes(m: MatrixInfo, k: KernelInstance, use: MatrixUse = {}): number {
  switch (m.kind) {
    case "dense":
    case "quantized":
      return storeScratchBytes(m);
    case "lowrank":
      return lowRankScratchBytes(m, stored);
    case "tt":
      return tensorTrainScratchBytes(m, use.gathers);
    case "csr":
      return pruneScratchBytes(m, k, use.gathers);
    case "blocks":
      return blocksScratchBytesOf(m);
    default:
      return 0;
  }
}

/**
 * Builds the operator for one matrix of a loaded file. `scratch` points at
 * {@link operatorScratchBytes}(m, k, use) bytes (16-byte aligned) that belong to this operator alone.
 */
export function matrixOperator(
  m: MatrixInfo,
  k: KernelInstance,
  scratch: number,
  use: MatrixUse = {},
): MatrixOperator {
  if (m.kind === "dense" || m.kind === "quantized") return storeOperator(m, k, scratch);
  if (m.kind === "csr") return pruneOperator(m, k, scratch, use.gathers);
  if (m.kind === "blocks") return blocksOperator(m, k, scratch);
  if (m.kind === "lowrank") return lowRankOperator(m, k, scratch, stored);
  if (m.kind === "tt") return tensorTrainOperator(m, k, scratch, stored, use.gathers);
  const other = m as { name: string; kind: string }; // every kind of this format is handled above
  throw new UnsupportedEncodingError(
    `Tensor "${other.name}" is stored as ${other.kind}, which this version of the runtime cannot execute`,
  );
}

/** Stored matrices (Dense, Quantized: the leaves of the encoding tree) inside LowRank and TensorTrain run through this same dispatch. */
const stored: StoreOperators = {
  operator: (m, k, scratch) => matrixOperator(m, k, scratch),
  scratchBytes: (m) => storeScratchBytes(m),
};
