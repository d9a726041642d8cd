/**
 * Reference (for the tests) tensor-train kernels — same semantics as `tt_matvec_f32`,
 * `tt_matmat_f32` and `tt_gather_f32` in as/tt.ts, on f32 cores given as arrays. They follow the
 * definition in schema/SPEC.md ("TensorTrain") directly, in f64, one element of W at a time, so they are
 * slow (rows·cols·Σ R_k·R_{k+1}) and obviously right.
 * @module
 */

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
