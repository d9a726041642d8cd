/**
 * The "tt" method: W as a TT-matrix (Oseledets 2011, "Tensor-Train Decomposition", §4) by TT-SVD,
 * stored as the schema's TensorTrain with cores in any storage type (`tt:16+f16`).
 *
 * Runs in runtime/operators/tt.ts (kernels: runtime/kernels/as/tt.ts); format: schema/SPEC.md "TensorTrain".
 *
 * Layout (schema/SPEC.md, "TensorTrain"): rows factor as r = (i_0 … i_{d−1}) in mixed radix row_modes
 * (i_0 most significant), columns likewise with j and col_modes; core k is an R_k × (m_k·n_k·R_{k+1})
 * matrix whose element G_k[α, i, j, β] sits at row α, column (i·n_k + j)·R_{k+1} + β.
 *
 * TT-SVD: W is zero-padded to ∏m × ∏n and permuted into the d-way tensor T[s_0, …, s_{d−1}] with merged
 * indices s_k = i_k·n_k + j_k. Then, for k = 0 … d−2, the current remainder C (R_k·s_k rows × the rest)
 * is split C ≈ U·(ΣVᵀ) with U's columns orthonormal (compiler/methods/svd.ts); U, row-major, is exactly
 * core k's bytes (row α·s_k + s, column β ↔ row α, column s·R_{k+1} + β), and ΣVᵀ is the next remainder.
 * The last remainder (R_{d−1} × s_{d−1}) is the last core. Each split drops singular values whose squares
 * sum to at most δ² with δ = tolerance·‖W‖_F/√(d−1), so ‖W − TT‖_F ≤ tolerance·‖W‖_F (Oseledets,
 * Theorem 2.2); `maxRank` caps every R_k. Without either, no singular value is dropped: maximal ranks,
 * and the TT reproduces W (up to the storage type's rounding).
 *
 * Mode factorization, when `rowModes`/`colModes` are not given: d = 3 cores, and of two splits the one
 * whose TT-SVD has the smaller relative error (`relativeError`; the fast one on a tie; with a tolerance
 * and no rank cap, which bounds both errors, the one with fewer parameters) — quality first, and the
 * faster product where it costs none:
 * - the fast split ({@link fastModes}): rows as [⌈rows/4⌉, 2, 2], columns as [2, 2, ⌈cols/4⌉] (padded to
 *   multiples of 4). The runtime's right-to-left product (runtime/kernels/as/tt.ts) costs
 *   Σ_k (∏_{l<k} n_l)·(∏_{l>k} m_l)·(n_k·R_{k+1})·(m_k·R_k) multiply-adds; with every mode ≥ 2 this split
 *   minimizes it for PTB's shapes (every split searched), ≈ 2R·(rows + cols) + 16R², where balanced modes
 *   pay for the middle core's n_0·m_2·n_1R·m_1R. PTB's 10000 × 200 decoder at rank 32: 0.67 M
 *   multiply-adds against 14.6 M balanced (20·20·25 × 5·5·8) and 2 M dense.
 * - the balanced split ({@link chooseModes}, below).
 * Measured on PTB-small (int8 cores, the other tensors int8, perplexity on the first 300 kB of the test
 * set), the fast split is the better one for the vocabulary-sized matrices — decoder tt:16 714.97 → 648.11,
 * tt:32 451.74 → 407.58, tt:64 246.49 → 231.82 (files 2.95 → 3.00, 3.03 → 3.09, 3.35 → 3.26 MB);
 * embedding tt:128 112.62 → 109.96 (4.23 → 3.62 MB) — and its TT-SVD error is lower there (decoder tt:32
 * 0.917 → 0.853, embedding tt:128 0.527 → 0.495), so it is chosen; for the LSTM matrices (800 × 200, and
 * ml5's 512 × 128) it is worse (PTB layers tt:32 361.7 → 430.9; error 0.716 → 0.829) and the balanced split
 * stays. The error is the rule because it is what the compiler can see, not a perplexity predictor: for
 * the ml5 dubois model all-fast tt:16+f16 costs +2694 % against +738 % balanced with errors only 2–16 %
 * higher, and for PTB's decoder [100, 10, 10] × [2, 10, 10] (error 0.903) gives 329.5. So the compile
 * then makes a model-level choice (compiler/tt_split_choice.ts): where this rule left a matrix balanced,
 * the model with every such matrix in the fast split is compared with it by the divergence of their
 * predictions from the original's, and the closer one is kept. For PTB-small `tt:32+int8` that is the
 * fast split everywhere: 643.6 kB at 788.3 on that text, stepping in 0.115 ms, against this rule's
 * 783.3 kB, 862.3, 0.82 ms and all-balanced's 672.5 kB, 1826.2, 1.68 ms (stepwise feed + logProbs, one run
 * each on this machine); for dubois the balanced splits stay. A recipe's `rowModes`/`colModes` choose any split (and skip both choices).
 * Dimensions below 16 (and d ≠ 3) take the balanced rule ({@link chooseModes}): a dimension n is written
 * as a product of d factors as balanced as possible (smallest largest factor, then smallest second
 * largest, …; factors ascending), and when n's best split is lopsided (largest factor > 1.5·n^(1/d), e.g.
 * a prime), n is padded up to the nearest N > n whose best split is balanced in that sense (found at the
 * latest at ⌈n^(1/d)⌉^d). The padding's rows/cols are zeros in T and are never read or produced by the
 * runtime. Balanced examples: 10000 → 20·20·25, 200 → 5·5·8, 800 → 8·10·10, 2600 → 10·13·20, 650 → 6·10·11
 * (padded to 660: 5·10·13 is just over 1.5·650^(1/3)), 7 → 2·2·2 (padded to 8), 10007 (prime) → 17·19·31
 * (padded to 10013), 2 → 1·2·2 (padded to 4), 1 → 1·1·1.
 * @module
 */
import type { IrMatrix } from "../ir.ts";
import type { EncodedMatrix } from "../encoded.ts";
import type { CompressionMethod, MethodSpec } from "./method.ts";
import { checkStorage, decodeStorage, describeStorage, encodeStorage } from "./storage.ts";
import { chooseRank, truncatedSplit } from "./svd.ts";

/** The spec this method takes (`tt:R`, with `+storage`; modes and tolerance from a recipe). */
export type TensorTrainSpec = Extract<MethodSpec, { kind: "tt" }>;

/** Cores when no modes are given. */
export const DEFAULT_TT_CORES = 3;
/** A split is "balanced" when its largest factor is at most this times n^(1/d). */
const BALANCE = 1.5;

/** Whether a comes before b, comparing elementwise. */
function lexLess(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

/** The most balanced split of n into d factors (smallest largest factor, then smallest second largest, …), ascending. */
export function balancedFactors(n: number, d: number): number[] {
  let best: number[] | undefined;
  const walk = (rest: number, k: number, min: number, acc: number[]) => {
    if (k === 1) {
      const f = [...acc, rest];
      if (rest >= min && (!best || lexLess(f.toReversed(), best.toReversed()))) best = f;
      return;
    }
    // The next factor f ≥ min, and f^k ≤ rest (the remaining factors are ≥ f).
    for (let f = min; f ** k <= rest; f++) {
      if (rest % f === 0) walk(rest / f, k - 1, f, [...acc, f]);
    }
  };
  walk(n, d, 1, []);
  return best!;
}

/**
 * Modes for a dimension of size n with d cores: the balanced split of the smallest N ≥ n whose largest
 * factor is at most 1.5·N^(1/d) (see the module doc). The product may exceed n (padding).
 */
export function chooseModes(n: number, d = DEFAULT_TT_CORES): number[] {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`Cannot factor a dimension of ${n}`);
  if (!(Number.isInteger(d) && d >= 1)) throw new Error(`TT needs a whole number of cores ≥ 1, got ${d}`);
  const cap = Math.ceil(n ** (1 / d) - 1e-9) ** d;
  for (let N = n; N < cap; N++) {
    const f = balancedFactors(N, d);
    if (f[d - 1] <= BALANCE * N ** (1 / d)) return f;
  }
  return balancedFactors(cap, d);
}

const product = (a: readonly number[]) => a.reduce((p, v) => p * v, 1);

/** Dimensions below this keep the balanced modes by default (the fast split would mostly be padding). */
const FAST_MIN = 16;

/**
 * The fast split of one side (the module doc, "Mode factorization"): with 3 cores and n ≥ 16, rows
 * [⌈n/4⌉, 2, 2] and columns [2, 2, ⌈n/4⌉]; else {@link chooseModes}' balanced one.
 */
export function fastModes(n: number, side: "rows" | "cols", d = DEFAULT_TT_CORES): number[] {
  if (d !== 3 || n < FAST_MIN) return chooseModes(n, d);
  const big = Math.ceil(n / 4);
  return side === "rows" ? [big, 2, 2] : [2, 2, big];
}

/** Throws unless the spec is usable. */
export function checkTensorTrainSpec(spec: TensorTrainSpec, rows?: number, cols?: number): void {
  const { maxRank, tolerance, rowModes, colModes } = spec;
  if (maxRank !== undefined && !(Number.isInteger(maxRank) && maxRank >= 1)) {
    throw new Error(`tt rank must be a whole number ≥ 1, got ${maxRank}`);
  }
  if (tolerance !== undefined && !(tolerance >= 0 && tolerance < 1)) {
    throw new Error(`tt tolerance must be a relative error in [0, 1), got ${tolerance}`);
  }
  for (const [what, modes, dim] of [["rowModes", rowModes, rows], ["colModes", colModes, cols]] as const) {
    if (modes === undefined) continue;
    if (modes.length < 1 || !modes.every((m) => Number.isInteger(m) && m >= 1)) {
      throw new Error(`tt ${what} must be whole numbers ≥ 1, got [${modes.join(", ")}]`);
    }
    if (dim !== undefined && product(modes) < dim) {
      throw new Error(`tt ${what} [${modes.join(", ")}] multiply to ${product(modes)}, less than ${dim}`);
    }
    if (product(modes) >= 2 ** 32) throw new Error(`tt ${what} multiply to 2^32 or more`);
  }
  if (rowModes && colModes && rowModes.length !== colModes.length) {
    throw new Error(
      `tt rowModes and colModes need as many entries (${rowModes.length} ≠ ${colModes.length})`,
    );
  }
  checkStorage(spec.storage);
}

/** A TT-matrix in float32 before storage: core k is ranks[k] × (rowModes[k]·colModes[k]·ranks[k+1]). */
export interface TensorTrainCores {
  rowModes: number[];
  colModes: number[];
  ranks: number[];
  cores: Float32Array[];
  /** ‖W − TT‖_F / ‖W‖_F before the cores' rounding: the dropped singular values' energy (TT-SVD's splits are orthogonal, so it adds up exactly). */
  relativeError: number;
}

/**
 * TT-SVD of `m` (see the module doc). Without `rowModes` and `colModes`, both the fast and the balanced
 * split are decomposed and the one with the smaller relative error is kept (the fast one on a tie).
 */
export function tensorTrainCores(
  m: IrMatrix,
  spec: Pick<TensorTrainSpec, "maxRank" | "tolerance" | "rowModes" | "colModes">,
): TensorTrainCores {
  if (spec.rowModes === undefined && spec.colModes === undefined) {
    const fast = ttSvd(m, spec, fastModes(m.rows, "rows"), fastModes(m.cols, "cols"));
    const [br, bc] = [chooseModes(m.rows), chooseModes(m.cols)];
    if (br.join() === fast.rowModes.join() && bc.join() === fast.colModes.join()) return fast;
    const balanced = ttSvd(m, spec, br, bc);
    // A tolerance alone bounds both errors: then the smaller decomposition (fewer parameters) wins.
    if (spec.maxRank === undefined && spec.tolerance !== undefined) {
      return parameters(fast) <= parameters(balanced) ? fast : balanced;
    }
    return fast.relativeError <= balanced.relativeError ? fast : balanced;
  }
  const d = spec.rowModes?.length ?? spec.colModes?.length ?? DEFAULT_TT_CORES;
  return ttSvd(m, spec, spec.rowModes ?? chooseModes(m.rows, d), spec.colModes ?? chooseModes(m.cols, d));
}

/** Values in a decomposition's cores. */
function parameters(tt: TensorTrainCores): number {
  return tt.cores.reduce((n, c) => n + c.length, 0);
}

/** TT-SVD of `m` with the given modes. */
function ttSvd(
  m: IrMatrix,
  spec: Pick<TensorTrainSpec, "maxRank" | "tolerance">,
  rowModes: number[],
  colModes: number[],
): TensorTrainCores {
  const d = rowModes.length;
  const sizes = rowModes.map((mk, k) => mk * colModes[k]);
  const total = product(sizes);
  // T[s_0 … s_{d−1}], s_k = i_k·n_k + j_k, s_0 most significant; padding stays 0.
  const t = new Float64Array(total);
  const iDigits = new Array<number>(d);
  let norm2 = 0;
  for (let r = 0; r < m.rows; r++) {
    for (let k = d - 1, x = r; k >= 0; k--) {
      iDigits[k] = x % rowModes[k];
      x = Math.floor(x / rowModes[k]);
    }
    for (let c = 0; c < m.cols; c++) {
      let pos = 0;
      for (let k = 0, x = c, div = product(colModes); k < d; k++) {
        div /= colModes[k];
        const j = Math.floor(x / div);
        x -= j * div;
        pos = pos * sizes[k] + iDigits[k] * colModes[k] + j;
      }
      const v = m.data[r * m.cols + c];
      t[pos] = v;
      norm2 += v * v;
    }
  }
  const maxTail2 = spec.tolerance === undefined || d === 1
    ? undefined
    : (spec.tolerance ** 2 * norm2) / (d - 1);
  const choose = chooseRank(spec.maxRank, maxTail2);
  const ranks = [1];
  const cores: Float32Array[] = [];
  let rest: Float64Array = t;
  let dropped = 0;
  for (let k = 0; k < d - 1; k++) {
    const rowsC = ranks[k] * sizes[k];
    const colsC = rest.length / rowsC;
    const split = truncatedSplit(rest, rowsC, colsC, choose, "left");
    cores.push(Float32Array.from(split.left));
    ranks.push(split.rank);
    for (let i = split.rank; i < split.sigma2.length; i++) dropped += Math.max(0, split.sigma2[i]);
    rest = split.right;
  }
  cores.push(Float32Array.from(rest));
  ranks.push(1);
  return { rowModes, colModes, ranks, cores, relativeError: norm2 > 0 ? Math.sqrt(dropped / norm2) : 0 };
}

/**
 * Dense float32 reconstruction of an encoded TensorTrain matrix (rows × cols, padding dropped), by
 * contracting the row slices of the cores left to right in float64. For reports and tests; the runtime
 * never does this.
 */
export function tensorTrainToDense(e: EncodedMatrix): Float32Array {
  if (e.encoding.kind !== "tt") throw new Error(`tensorTrainToDense: "${e.name}" is ${e.encoding.kind}`);
  const { rowModes, colModes, ranks } = e.encoding;
  const cores = e.encoding.cores.map(decodeStorage);
  const d = rowModes.length;
  const out = new Float32Array(e.rows * e.cols);
  for (let r = 0; r < e.rows; r++) {
    const i = new Array<number>(d);
    for (let k = d - 1, x = r; k >= 0; k--) {
      i[k] = x % rowModes[k];
      x = Math.floor(x / rowModes[k]);
    }
    // v: (∏_{l<k} n_l) × R_k, row-major; starts as the 1 × 1 matrix [1].
    let v = new Float64Array([1]);
    let p = 1;
    for (let k = 0; k < d; k++) {
      const [rk, nk, rk1] = [ranks[k], colModes[k], ranks[k + 1]];
      const width = rowModes[k] * nk * rk1;
      const next = new Float64Array(p * nk * rk1);
      for (let q = 0; q < p; q++) {
        for (let a = 0; a < rk; a++) {
          const s = v[q * rk + a];
          if (s === 0) continue;
          const base = a * width + i[k] * nk * rk1;
          for (let x = 0; x < nk * rk1; x++) next[q * nk * rk1 + x] += s * cores[k][base + x];
        }
      }
      v = next;
      p *= nk;
    }
    for (let c = 0; c < e.cols; c++) out[r * e.cols + c] = v[c];
  }
  return out;
}

/**
 * `--method tt:R[+storage]`; a recipe may also give `tolerance`, `rowModes`, `colModes`.
 *
 * @example
 * ```ts
 * const { encoded, detail } = tensorTrainMethod.encode(decoder, { kind: "tt", maxRank: 16, storage: { type: "f16" } }, "decoder");
 * // detail: "ranks 1-16-16-1, modes 2500·2·2 × 2·2·50, f16"
 * ```
 */
export const tensorTrainMethod: CompressionMethod<TensorTrainSpec> = {
  kind: "tt",
  encode(m, spec) {
    checkTensorTrainSpec(spec, m.rows, m.cols);
    const tt = tensorTrainCores(m, spec);
    const cores: EncodedMatrix[] = tt.cores.map((data, k) =>
      encodeStorage({
        name: `${m.name}.cores.${k}`,
        rows: tt.ranks[k],
        cols: tt.rowModes[k] * tt.colModes[k] * tt.ranks[k + 1],
        data,
      }, spec.storage)
    );
    const padded = product(tt.rowModes) > m.rows || product(tt.colModes) > m.cols
      ? ` (padded to ${product(tt.rowModes)} × ${product(tt.colModes)})`
      : "";
    return {
      encoded: {
        name: m.name,
        rows: m.rows,
        cols: m.cols,
        encoding: { kind: "tt", rowModes: tt.rowModes, colModes: tt.colModes, ranks: tt.ranks, cores },
      },
      detail:
        `ranks ${tt.ranks.join("-")}, modes ${tt.rowModes.join("·")} × ${tt.colModes.join("·")}${padded}, ` +
        describeStorage(spec.storage),
    };
  },
};
