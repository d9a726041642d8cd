/**
 * The "lowrank" method: truncated SVD, W (rows × cols) ≈ A (rows × r) · B (r × cols), stored as the
 * schema's LowRank with A and B in any storage type (`lowrank:64+int8`).
 *
 * Runs in runtime/operators/lowrank.ts (its factors through runtime/operators/store.ts); format:
 * schema/SPEC.md "LowRank".
 *
 * Rank: `rank` (clipped to min(rows, cols), where the decomposition is exact), or `energy` e ∈ (0, 1]:
 * the smallest r whose singular values keep a fraction ≥ e of Σσ² (then `rank`, if also given, caps it).
 *
 * Where σ goes (σ on one side, not √σ on both): for a tall or square W (rows ≥ cols — embedding,
 * decoder, LSTM weights), B = V_rᵀ has orthonormal rows and A = W·V_r = U_r·Σ_r; for a wide W,
 * A = U_r (orthonormal columns) and B = U_rᵀ·W = Σ_r·V_rᵀ. Both come from the eigendecomposition of the
 * short side's Gram matrix (compiler/methods/svd.ts), and A·B is the orthogonal projection of W onto its
 * top-r singular directions, so full rank reproduces W up to float64 rounding before storage.
 * With int8/int4 storage the orthonormal factor has entries in [−1, 1] and the other's rows carry the
 * scale, so per-row scales fit both.
 * @module
 */
import type { IrMatrix } from "../ir.ts";
import type { EncodedMatrix } from "../encoded.ts";
import type { CompressionMethod, MethodSpec } from "./method.ts";
import { checkStorage, decodeStorage, describeStorage, encodeStorage } from "./storage.ts";
import { truncatedSplit } from "./svd.ts";

/** The spec this method takes (`lowrank:R`, `lowrank:e0.95`, with `+storage`). */
export type LowRankSpec = Extract<MethodSpec, { kind: "lowrank" }>;

/** Throws unless the spec is usable: a whole rank ≥ 1 and/or an energy in (0, 1]. */
export function checkLowRankSpec(spec: LowRankSpec): void {
  const { rank, energy } = spec;
  if (rank === undefined && energy === undefined) {
    throw new Error("lowrank needs a rank (lowrank:64) or an energy fraction (lowrank:e0.95)");
  }
  if (rank !== undefined && !(Number.isInteger(rank) && rank >= 1)) {
    throw new Error(`lowrank rank must be a whole number ≥ 1, got ${rank}`);
  }
  if (energy !== undefined && !(energy > 0 && energy <= 1)) {
    throw new Error(`lowrank energy must be a fraction in (0, 1], got ${energy}`);
  }
  checkStorage(spec.storage);
}

/** Energy chooser: the smallest r with Σ_{k<r} σ_k² ≥ e · Σ σ² (all of them for e = 1). */
function energyRank(sigma2: Float64Array, energy: number): number {
  const total = sigma2.reduce((s, v) => s + v, 0);
  if (energy >= 1 || total === 0) return energy >= 1 ? sigma2.length : 1;
  let kept = 0;
  for (let r = 0; r < sigma2.length; r++) {
    kept += sigma2[r];
    if (kept >= energy * total) return r + 1;
  }
  return sigma2.length;
}

/** The factors of a low-rank split in float32, before storage. */
export interface LowRankFactors {
  rank: number;
  /** rows × rank, row-major */
  a: Float32Array;
  /** rank × cols, row-major */
  b: Float32Array;
  /** Fraction of Σσ² kept (1 for an exact decomposition). */
  energyKept: number;
}

/** Truncated SVD factors of `m` (see the module doc for where σ goes). */
export function lowRankFactors(m: IrMatrix, spec: Pick<LowRankSpec, "rank" | "energy">): LowRankFactors {
  const full = Math.min(m.rows, m.cols);
  const cap = spec.rank === undefined ? full : Math.min(spec.rank, full);
  const choose = (s2: Float64Array) =>
    Math.max(1, Math.min(cap, spec.energy === undefined ? full : energyRank(s2, spec.energy)));
  const split = truncatedSplit(m.data, m.rows, m.cols, choose, "right");
  const total = split.sigma2.reduce((s, v) => s + v, 0);
  const kept = split.sigma2.subarray(0, split.rank).reduce((s, v) => s + v, 0);
  return {
    rank: split.rank,
    a: Float32Array.from(split.left),
    b: Float32Array.from(split.right),
    energyKept: total === 0 ? 1 : Math.min(1, kept / total),
  };
}

/** Dense float32 reconstruction A·B of an encoded LowRank matrix (tests and error reports). */
export function lowRankToDense(e: EncodedMatrix): Float32Array {
  if (e.encoding.kind !== "lowrank") throw new Error(`lowRankToDense: "${e.name}" is ${e.encoding.kind}`);
  const { a, b } = e.encoding;
  const av = decodeStorage(a);
  const bv = decodeStorage(b);
  const r = a.cols;
  const out = new Float32Array(e.rows * e.cols);
  const row = new Float64Array(e.cols);
  for (let i = 0; i < e.rows; i++) {
    row.fill(0);
    for (let k = 0; k < r; k++) {
      const s = av[i * r + k];
      for (let j = 0; j < e.cols; j++) row[j] += s * bv[k * e.cols + j];
    }
    out.set(row, i * e.cols);
  }
  return out;
}

/**
 * `--method lowrank:R[+storage]` / `lowrank:eF[+storage]`.
 *
 * @example
 * ```ts
 * const { encoded, detail } = lowRankMethod.encode(decoder, { kind: "lowrank", rank: 64, storage: { type: "int8" } }, "decoder");
 * // encoded.encoding: { kind: "lowrank", a: 10000 × 64 int8, b: 64 × 200 int8 }; detail "rank 64, energy 0.912, int8 per-row"
 * ```
 */
export const lowRankMethod: CompressionMethod<LowRankSpec> = {
  kind: "lowrank",
  encode(m, spec) {
    checkLowRankSpec(spec);
    const f = lowRankFactors(m, spec);
    const full = Math.min(m.rows, m.cols);
    const a = encodeStorage({ name: `${m.name}.a`, rows: m.rows, cols: f.rank, data: f.a }, spec.storage);
    const b = encodeStorage({ name: `${m.name}.b`, rows: f.rank, cols: m.cols, data: f.b }, spec.storage);
    const clipped = spec.rank !== undefined && spec.rank > full ? ` (clipped from ${spec.rank}: exact)` : "";
    return {
      encoded: { name: m.name, rows: m.rows, cols: m.cols, encoding: { kind: "lowrank", a, b } },
      detail: `rank ${f.rank}${clipped}, energy ${f.energyKept.toFixed(4)}, ${describeStorage(spec.storage)}`,
    };
  },
};
