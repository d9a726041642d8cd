/**
 * Reference (for the tests) tensor-train kernels — same semantics as `tt_matvec_f32`,
 * `tt_matmat_f32` and `tt_gather_f32` in as/tt.ts, on f32 cores given as arrays. They follow the
 * definition in schema/SPEC.md ("TensorTrain") directly, in f64, one element of W at a time, so they are
 * slow (rows·cols·Σ R_k·R_{k+1}) and obviously right. For the relaxed module's tt_matvec_q8r: core 0's step
 * input A ({@link ttCore0Input}, from the definition) and that step on int8 codes ({@link ttCore0Q8}).
 * @module
 */

import { quantizeActivations, RELAXED_Q8_LEVELS } from "./quantized.ref.ts";

/** A TT-matrix: core k is ranks[k] × (rowModes[k]·colModes[k]·ranks[k+1]), row-major f32. */
export interface TtCores {
  rows: number;
  cols: number;
  rowModes: readonly number[];
  colModes: readonly number[];
  ranks: readonly number[];
  cores: readonly Float32Array[];
}

/** W[r, c] = G_0[0, i_0, j_0, :] · G_1[:, i_1, j_1, :] ⋯ G_{d−1}[:, i_{d−1}, j_{d−1}, 0]. */
export function ttElement(tt: TtCores, r: number, c: number): number {
  const d = tt.rowModes.length;
  let v = new Float64Array([1]); // G_0 ⋯ G_{k−1} at (i, j): a 1 × R_k row
  let rDiv = tt.rowModes.reduce((p, m) => p * m, 1);
  let cDiv = tt.colModes.reduce((p, n) => p * n, 1);
  for (let k = 0; k < d; k++) {
    rDiv /= tt.rowModes[k];
    cDiv /= tt.colModes[k];
    const i = Math.floor(r / rDiv) % tt.rowModes[k]; // i_0 most significant
    const j = Math.floor(c / cDiv) % tt.colModes[k];
    const [rk, nk, rk1] = [tt.ranks[k], tt.colModes[k], tt.ranks[k + 1]];
    const width = tt.rowModes[k] * nk * rk1;
    const next = new Float64Array(rk1);
    for (let a = 0; a < rk; a++) {
      for (let b = 0; b < rk1; b++) next[b] += v[a] * tt.cores[k][a * width + (i * nk + j) * rk1 + b];
    }
    v = next;
  }
  return v[0];
}

/** W (rows × cols, row-major, f64) element by element with {@link ttElement}. */
export function ttDense(tt: TtCores): Float64Array {
  const w = new Float64Array(tt.rows * tt.cols);
  for (let r = 0; r < tt.rows; r++) {
    for (let c = 0; c < tt.cols; c++) w[r * tt.cols + c] = ttElement(tt, r, c);
  }
  return w;
}

/** y (rows) += W·x (cols). `w`: {@link ttDense}(tt), when the caller has it already. */
export function ttMatvecF32(tt: TtCores, x: Float32Array, y: Float32Array, w = ttDense(tt)): void {
  for (let r = 0; r < tt.rows; r++) {
    let s = 0;
    for (let c = 0; c < tt.cols; c++) s += w[r * tt.cols + c] * x[c];
    y[r] += s;
  }
}

/** Y (n × rows) += X (n × cols)·Wᵀ. */
export function ttMatmatF32(tt: TtCores, x: Float32Array, n: number, y: Float32Array, w = ttDense(tt)): void {
  for (let t = 0; t < n; t++) {
    const yt = y.subarray(t * tt.rows, (t + 1) * tt.rows);
    ttMatvecF32(tt, x.subarray(t * tt.cols, (t + 1) * tt.cols), yt, w);
  }
}

/** out (cols) = W[row, :]. */
export function ttGatherF32(tt: TtCores, row: number, out: Float32Array): void {
  for (let c = 0; c < tt.cols; c++) out[c] = ttElement(tt, row, c);
}

/**
 * The step input of core 0 in the right-to-left matvec (as/tt.ts), in f64: A (P × L, row-major) with
 * P = ∏_{k>0} m_k rows p = (i_1 … i_{d−1}) (i_1 most significant) and L = n_0·R_1 columns (j_0, β):
 * A[p, j_0·R_1 + β] = Σ_{j_1 … j_{d−1}} G_1[β, i_1, j_1, :] ⋯ G_{d−1}[:, i_{d−1}, j_{d−1}, 0] · x[c], c the
 * column (j_0 … j_{d−1}) (x zero past cols). Then (W·x)[i_0·P + p] = Σ_l G_0[0, i_0, l] · A[p, l].
 */
export function ttCore0Input(tt: TtCores, x: Float32Array): Float64Array {
  const d = tt.rowModes.length;
  const L = tt.colModes[0] * tt.ranks[1];
  const P = tt.rowModes.slice(1).reduce((p, m) => p * m, 1);
  const nRest = tt.colModes.slice(1).reduce((p, n) => p * n, 1);
  const a = new Float64Array(P * L);
  for (let p = 0; p < P; p++) {
    for (let jr = 0; jr < nRest; jr++) {
      // v = G_1[:, i_1, j_1, :] ⋯ G_{d−1}[:, i_{d−1}, j_{d−1}, 0]: an R_1 column, right to left
      let v = new Float64Array([1]);
      let pDiv = 1, jDiv = 1;
      for (let k = d - 1; k >= 1; k--) {
        const i = Math.floor(p / pDiv) % tt.rowModes[k];
        const j = Math.floor(jr / jDiv) % tt.colModes[k];
        pDiv *= tt.rowModes[k];
        jDiv *= tt.colModes[k];
        const [rk, nk, rk1] = [tt.ranks[k], tt.colModes[k], tt.ranks[k + 1]];
        const width = tt.rowModes[k] * nk * rk1;
        const next = new Float64Array(rk);
        for (let al = 0; al < rk; al++) {
          for (let b = 0; b < rk1; b++) next[al] += tt.cores[k][al * width + (i * nk + j) * rk1 + b] * v[b];
        }
        v = next;
      }
      for (let j0 = 0; j0 < tt.colModes[0]; j0++) {
        const c = j0 * nRest + jr;
        const xc = c < tt.cols ? x[c] : 0;
        for (let b = 0; b < tt.ranks[1]; b++) a[p * L + j0 * tt.ranks[1] + b] += v[b] * xc;
      }
    }
  }
  return a;
}

/**
 * The relaxed module's core 0 step on int8 codes (as/relaxed.ts, tt_matvec_q8r), given its input A (P × L
 * f32, as the kernel holds it): each row of A quantized to 7 bits (RELAXED_Q8_LEVELS, its own scale sa[p]),
 * exact integer sums with core 0's codes (m_0 × L), then y[i·P + p] += (Σ codes · aq) · (sa[p] · rowScales[i])
 * in f32, for i·P + p < rows.
 */
export function ttCore0Q8(
  codes: Int8Array,
  rowScales: Float32Array,
  a: Float32Array,
  P: number,
  rows: number,
  y: Float32Array,
): void {
  const L = a.length / P;
  const m = codes.length / L;
  const rowsOfA = Array.from(
    { length: P },
    (_, p) => quantizeActivations(a.subarray(p * L, (p + 1) * L), RELAXED_Q8_LEVELS),
  );
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < P && i * P + p < rows; p++) {
      const { xq, sx } = rowsOfA[p];
      let t = 0;
      for (let l = 0; l < L; l++) t += codes[i * L + l] * xq[l];
      const r = i * P + p;
      y[r] = Math.fround(y[r] + Math.fround(t * Math.fround(sx * rowScales[i])));
    }
  }
}
