/**
 * The one interface every compression method implements. A method turns one IR matrix (float32,
 * row-major) into one encoded matrix (compiler/encoded.ts) that the runtime executes as it is.
 *
 * Methods: store (f32 | f16 | int8 | int4), prune (magnitude → CSR), lowrank (truncated SVD → A·B),
 * tt (TT-SVD → tensor-train cores). The parts a method produces (CSR values, low-rank factors, TT cores)
 * are stored with a {@link StorageSpec}, so "lowrank:64+int8" is a low-rank matrix with int8 factors.
 * @module
 */
import type { IrMatrix } from "../ir.ts";
import type { EncodedMatrix } from "../encoded.ts";

/**
 * How a leaf matrix's numbers are stored. int8: one scale per row (or per `groupSize` columns when
 * given); int4: one per `groupSize` columns. Encoded by `encodeStorage` in ./storage.ts.
 */
export interface StorageSpec {
  type: "f32" | "f16" | "int8" | "int4";
  /** Columns per scale: int4 default 32, int8 default the whole row; ignored for f32/f16. */
  groupSize?: number;
  /** int8/int4 only: "f16" stores the scales as binary16 (`:s16`, format 1.1), half their bytes. */
  scales?: "f16";
}

/** What a method is asked to do to one matrix (parsed from `--method` or a recipe entry). */
export type MethodSpec =
  | { kind: "store"; storage: StorageSpec }
  | {
    kind: "prune";
    /** Fraction of entries set to zero, 0..1 (the smallest magnitudes). */
    sparsity: number;
    /** "tensor" (default): each matrix to `sparsity`; "global": one magnitude threshold across matrices. */
    scope?: "tensor" | "global";
    /** Set by the pipeline for global scope: entries with |x| below it are pruned (overrides sparsity). */
    threshold?: number;
    /**
     * Block-sparse (SparseBlocks) instead of CSR: blocks of blockRows (1 or 4) × blockCols (4, 8 or 16) are
     * kept or dropped whole, by block L2 norm; sparsity is then the fraction of blocks dropped.
     */
    blockRows?: number;
    blockCols?: number;
    storage: StorageSpec;
  }
  | { kind: "lowrank"; rank?: number; energy?: number; storage: StorageSpec }
  | {
    kind: "tt";
    maxRank?: number;
    tolerance?: number;
    rowModes?: number[];
    colModes?: number[];
    storage: StorageSpec;
  };

/** Where a matrix sits in the model: the runtime uses embeddings by row gather, the others by matvec. */
export type MatrixRole = "embedding" | "w_ih" | "w_hh" | "decoder";

/** The result of compressing one matrix. */
export interface MethodResult {
  encoded: EncodedMatrix;
  /** What was actually done, e.g. "rank 64 (clipped from 300)", "sparsity 0.800 (nnz 400000)". */
  detail: string;
}

/** One compression method. */
export interface CompressionMethod<S extends MethodSpec = MethodSpec> {
  readonly kind: S["kind"];
  /** Compresses `m`. Must be deterministic: same matrix and spec → same bytes. */
  encode(m: IrMatrix, spec: S, role: MatrixRole): MethodResult;
}
