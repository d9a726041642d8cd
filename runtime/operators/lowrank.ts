/**
 * The LowRank operator: W ≈ A·B, A (rows × r), B (r × cols), each a leaf (Dense or Quantized) run by its
 * own leaf operator, computing on the factors as stored — W is never formed.
 *
 * Runs what the "lowrank" method (compiler/methods/lowrank.ts) writes; format: schema/SPEC.md "LowRank".
 *
 *   matvec     t (r) = B·x into scratch, then y += A·t                      r·(rows + cols) multiply-adds
 *   matmat     per block of ≤ 64 timesteps: T (n × r) = X·Bᵀ, then Y += T·Aᵀ
 *   gatherRow  a (r) = A[row, :], then out = Bᵀ·a = Σ_k a[k]·B[k, :]        (vecmat_f32 on an f32 B;
 *              other storage: B's rows one by one through its leaf gather, each added with vecmat_f32)
 * @module
 */
import type { KernelInstance } from "../kernels/kernels.ts";
import type { LowRankInfo, StoredInfo } from "../format/read.ts";
import type { MatrixOperator } from "./matrix_operator.ts";

/** How leaf matrices (Dense, Quantized) are run: the runtime's per-encoding dispatch for stored. */
export interface StoreOperators {
  /** The operator for one leaf; `scratch` points at `scratchBytes(info)` bytes of its own. */
  operator(info: StoredInfo, k: KernelInstance, scratch: number): MatrixOperator;
  scratchBytes(info: StoredInfo): number;
}

/** Timesteps per block of the low-rank matmat (bounds the n × r intermediate). */
export const LOWRANK_MATMAT_BLOCK = 64;

const align16 = (n: number) => (n + 15) & ~15;

/** Whether a leaf is Dense f32 (then kernels read its data directly). */
export function isDenseF32(m: StoredInfo): m is Extract<StoredInfo, { kind: "dense" }> {
  return m.kind === "dense" && m.floatType === "f32";
}

/** Scratch layout: t (64·r floats), a B row when B is not f32 (cols floats), then A's and B's own. */
function layout(m: LowRankInfo, stored: StoreOperators) {
  const t = 0;
  const row = t + align16(4 * LOWRANK_MATMAT_BLOCK * m.rank);
  const storeA = row + (isDenseF32(m.b) ? 0 : align16(4 * m.cols));
  const storeB = storeA + align16(stored.scratchBytes(m.a));
  const end = storeB + align16(stored.scratchBytes(m.b));
  return { t, row, storeA, storeB, end };
}

/** Scratch bytes the operator of `m` needs (shapes only). */
export function lowRankScratchBytes(m: LowRankInfo, stored: StoreOperators): number {
  return layout(m, stored).end;
}

/**
 * The operator for a LowRank matrix of a loaded file. `scratch`: {@link lowRankScratchBytes} bytes,
 * 16-byte aligned, this operator's alone.
 */
export function lowRankOperator(
  m: LowRankInfo,
  k: KernelInstance,
  scratch: number,
  stored: StoreOperators,
): MatrixOperator {
  const { rows, cols, rank } = m;
  const l = layout(m, stored);
  const t = scratch + l.t;
  const rowTmp = scratch + l.row;
  const a = stored.operator(m.a, k, scratch + l.storeA);
  const b = stored.operator(m.b, k, scratch + l.storeB);
  const ex = k.exports;
  const zero = (ptr: number, floats: number) => new Float32Array(k.memory.buffer, ptr, floats).fill(0);
  return {
    rows,
    cols,
    matvec(x, y) {
      zero(t, rank);
      b.matvec(x, t);
      a.matvec(t, y);
    },
    matmat(x, n, y) {
      for (let s = 0; s < n; s += LOWRANK_MATMAT_BLOCK) {
        const nb = Math.min(LOWRANK_MATMAT_BLOCK, n - s);
        zero(t, nb * rank);
        b.matmat(x + 4 * s * cols, nb, t); // T (nb × r) = X·Bᵀ
        a.matmat(t, nb, y + 4 * s * rows); // Y += T·Aᵀ
      }
    },
    gatherRow(row, out) {
      a.gatherRow(row, t);
      zero(out, cols);
      if (isDenseF32(m.b)) {
        ex.vecmat_f32(m.b.dataOffset, rank, cols, cols, t, out);
        return;
      }
      for (let i = 0; i < rank; i++) {
        b.gatherRow(i, rowTmp);
        ex.vecmat_f32(rowTmp, 1, cols, cols, t + 4 * i, out);
      }
    },
  };
}
