/**
 * The LowRank operator: W ≈ A·B, A (rows × r), B (r × cols), each a leaf (Dense or Quantized) run by its
 * own leaf operator, computing on the factors as stored — W is never formed.
 *
 *   matvec     t (r) = B·x into scratch, then y += A·t                      r·(rows + cols) multiply-adds
 *   matmat     per block of ≤ 64 timesteps: T (n × r) = X·Bᵀ, then Y += T·Aᵀ
 *   gatherRow  a (r) = A[row, :], then out = Bᵀ·a = Σ_k a[k]·B[k, :]        (vecmat_f32 on an f32 B;
 *              other storage: B's rows one by one through its leaf gather, each added with vecmat_f32)
 * @module
 */
import type { KernelInstance } from "../kernels/kernels.ts";
import type { LeafInfo, LowRankInfo } from "../format/read.ts";
import type { MatrixOperator } from "../matrix_operator.ts";

/** How leaf matrices (Dense, Quantized) are run: the runtime's per-encoding dispatch for leaves. */
export interface LeafOperators {
  /** The operator for one leaf; `scratch` points at `scratchBytes(info)` bytes of its own. */
  operator(info: LeafInfo, k: KernelInstance, scratch: number): MatrixOperator;
  scratchBytes(info: LeafInfo): number;
}

/** Timesteps per block of the low-rank matmat (bounds the n × r intermediate). */
export const LOWRANK_MATMAT_BLOCK = 64;

const align16 = (n: number) => (n + 15) & ~15;

/** Whether a leaf is Dense f32 (then kernels read its data directly). */
export function isDenseF32(m: LeafInfo): m is Extract<LeafInfo, { kind: "dense" }> {
  return m.kind === "dense" && m.floatType === "f32";
}

/** Scratch layout: t (64·r floats), a B row when B is not f32 (cols floats), then A's and B's own. */
function layout(m: LowRankInfo, leaves: LeafOperators) {
  const t = 0;
  const row = t + align16(4 * LOWRANK_MATMAT_BLOCK * m.rank);
  const leafA = row + (isDenseF32(m.b) ? 0 : align16(4 * m.cols));
  const leafB = leafA + align16(leaves.scratchBytes(m.a));
  const end = leafB + align16(leaves.scratchBytes(m.b));
  return { t, row, leafA, leafB, end };
}

/** Scratch bytes the operator of `m` needs (shapes only). */
export function lowRankScratchBytes(m: LowRankInfo, leaves: LeafOperators): number {
  return layout(m, leaves).end;
}

/**
 * The operator for a LowRank matrix of a loaded file. `scratch`: {@link lowRankScratchBytes} bytes,
 * 16-byte aligned, this operator's alone.
 */
export function lowRankOperator(
  m: LowRankInfo,
  k: KernelInstance,
  scratch: number,
  leaves: LeafOperators,
): MatrixOperator {
  const { rows, cols, rank } = m;
  const l = layout(m, leaves);
  const t = scratch + l.t;
  const rowTmp = scratch + l.row;
  const a = leaves.operator(m.a, k, scratch + l.leafA);
  const b = leaves.operator(m.b, k, scratch + l.leafB);
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
