/**
 * One interface over every matrix encoding, so the engine never asks how a matrix is stored. Each
 * operator computes directly on the encoded bytes in WASM memory (no expansion to dense).
 * @module
 */
import type { KernelInstance } from "./kernels/kernels.ts";
import type { MatrixInfo } from "./format/read.ts";
import { type LeafOperators, lowRankOperator, lowRankScratchBytes } from "./operators/lowrank.ts";
import { tensorTrainOperator, tensorTrainScratchBytes } from "./operators/tt.ts";

/** A rows × cols matrix W, all arguments are byte pointers into the kernels' memory, f32 activations. */
export interface MatrixOperator {
  readonly rows: number;
  readonly cols: number;
  /** y (rows) += W · x (cols) */
  matvec(x: number, y: number): void;
  /** Y (n × rows) += X (n × cols) · Wᵀ */
  matmat(x: number, n: number, y: number): void;
  /** out (cols) = W[row, :] */
  gatherRow(row: number, out: number): void;
}

/** Thrown when a file uses an encoding this runtime cannot execute. */
export class UnsupportedEncodingError extends Error {
  override name = "UnsupportedEncodingError";
}

/**
 * Bytes of scratch memory the operator for `m` needs (e.g. the rank-sized intermediate of a low-rank
 * product), reserved by the engine at load. Depends only on shapes, so it can be asked of a probe read.
 */
export function operatorScratchBytes(m: MatrixInfo): number {
  switch (m.kind) {
    case "dense":
      return 0;
    case "lowrank":
      return lowRankScratchBytes(m, leaves);
    case "tt":
      return tensorTrainScratchBytes(m, leaves);
    default:
      return 0;
  }
}

/**
 * Builds the operator for one matrix of a loaded file. `scratch` points at
 * {@link operatorScratchBytes}(m) bytes (16-byte aligned) that belong to this operator alone.
 */
export function matrixOperator(m: MatrixInfo, k: KernelInstance, scratch: number): MatrixOperator {
  void scratch;
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
  if (m.kind === "lowrank") return lowRankOperator(m, k, scratch, leaves);
  if (m.kind === "tt") return tensorTrainOperator(m, k, scratch, leaves);
  throw new UnsupportedEncodingError(
    `Tensor "${m.name}" is stored as ${m.kind}, which this version of the runtime cannot execute yet ` +
      `(it executes dense f32 and f16)`,
  );
}

/** Leaves (Dense, Quantized) inside LowRank and TensorTrain run through this same dispatch. */
const leaves: LeafOperators = {
  operator: (m, k, scratch) => matrixOperator(m, k, scratch),
  scratchBytes: (m) => operatorScratchBytes(m),
};
