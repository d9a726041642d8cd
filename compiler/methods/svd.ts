/**
 * The singular value decompositions behind the low-rank and tensor-train methods, in float64.
 *
 * ml-matrix's full SVD of a tall 10000 × 200 matrix takes ≈ 13 s here; its symmetric eigendecomposition
 * of the 200 × 200 Gram matrix takes ≈ 0.3 s. So the SVD of C (m × n) is taken from the Gram matrix of
 * its short side (CᵀC or CCᵀ, formed here in float64), and the factors are defined so that their
 * product is an *orthogonal projection* of C: at full rank it is C itself up to float64 rounding, however
 * ill-conditioned C is (the Gram matrix squares the condition number, but only the singular values of
 * the discarded directions — used to pick the rank — suffer from that, not the reconstruction).
 * @module
 */
import { EigenvalueDecomposition, Matrix } from "ml-matrix";

/** Eigenpairs of a symmetric k × k matrix, eigenvalues descending (clamped at 0), vectors as columns. */
function symmetricEigen(g: Float64Array, k: number): { values: Float64Array; vectors: Float64Array } {
  const rows: number[][] = [];
  for (let i = 0; i < k; i++) rows.push(Array.from(g.subarray(i * k, (i + 1) * k)));
  const e = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
  const lambda = e.realEigenvalues;
  const v = e.eigenvectorMatrix;
  // Descending; ties keep ml-matrix's order, so the result is deterministic.
  const order = Array.from({ length: k }, (_, i) => i).sort((a, b) => lambda[b] - lambda[a] || a - b);
  const values = new Float64Array(k);
  const vectors = new Float64Array(k * k);
  order.forEach((src, dst) => {
    values[dst] = Math.max(0, lambda[src]);
    for (let i = 0; i < k; i++) vectors[i * k + dst] = v.get(i, src);
  });
  return { values, vectors };
}

/** G = Cᵀ C (n × n) of a row-major m × n matrix, in float64. */
function gramCols(c: Float64Array, m: number, n: number): Float64Array {
  const g = new Float64Array(n * n);
  const row = new Float64Array(n);
  for (let r = 0; r < m; r++) {
    for (let j = 0; j < n; j++) row[j] = c[r * n + j];
    for (let a = 0; a < n; a++) {
      const x = row[a];
      if (x === 0) continue;
      const base = a * n;
      for (let b = a; b < n; b++) g[base + b] += x * row[b];
    }
  }
  for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) g[a * n + b] = g[b * n + a];
  return g;
}

/** G = C Cᵀ (m × m) of a row-major m × n matrix, in float64. */
function gramRows(rows: Float64Array, m: number, n: number): Float64Array {
  const g = new Float64Array(m * m);
  for (let a = 0; a < m; a++) {
    for (let b = a; b < m; b++) {
      let s = 0;
      const pa = a * n;
      const pb = b * n;
      for (let j = 0; j < n; j++) s += rows[pa + j] * rows[pb + j];
      g[a * m + b] = s;
      g[b * m + a] = s;
    }
  }
  return g;
}

/** Picks a rank from the squared singular values (descending, k of them); returns 1..k. */
export type RankChooser = (sigma2: Float64Array) => number;

/**
 * Rank chooser: at most `maxRank` (undefined = no cap), and the smallest rank whose discarded squared
 * singular values sum to at most `maxTail2` (undefined = no tolerance).
 */
export function chooseRank(maxRank?: number, maxTail2?: number): RankChooser {
  return (s2) => {
    let r = s2.length;
    if (maxTail2 !== undefined) {
      let tail = 0;
      r = s2.length;
      while (r > 1 && tail + s2[r - 1] <= maxTail2) tail += s2[--r];
    }
    if (maxRank !== undefined) r = Math.min(r, maxRank);
    return Math.max(1, Math.min(r, s2.length));
  };
}

/** C ≈ L (m × rank) · R (rank × n), both row-major float64; sigma2 = all min(m, n) squared singular values. */
export interface Split {
  rank: number;
  left: Float64Array;
  right: Float64Array;
  sigma2: Float64Array;
}

/**
 * Truncated SVD of C (m × n, row-major) as C ≈ L·R with L·R the orthogonal projection of C onto its
 * top-`rank` singular directions (so at full rank L·R = C up to float64 rounding).
 *
 * `orthonormal` says which factor has orthonormal columns/rows:
 * - "right" (low-rank's choice): R = V_rᵀ (orthonormal rows) and L = C·V_r = U_r·Σ_r when m ≥ n;
 *   when m < n, L = U_r (orthonormal columns) and R = U_rᵀ·C = Σ_r·V_rᵀ. Σ is on one side either way,
 *   the side that is cheap to form.
 * - "left" (TT-SVD's choice): L has orthonormal columns (U_r) and R = Σ_r·V_rᵀ always. When m > n,
 *   L's columns are C·V_r normalized by their computed norms (a column of norm 0 stays 0, with a zero
 *   row in R), so L·R is still exactly the projection C·V_r·V_rᵀ.
 */
export function truncatedSplit(
  matrix: ArrayLike<number>,
  m: number,
  n: number,
  choose: RankChooser,
  orthonormal: "left" | "right",
): Split {
  // One element type in the loops below (mixing Float32Array and Float64Array callers slows them 5×).
  const c = matrix instanceof Float64Array ? matrix : Float64Array.from(matrix);
  if (m <= n) {
    // C Cᵀ = U Λ Uᵀ; L = U_r, R = U_rᵀ C.
    const { values, vectors } = symmetricEigen(gramRows(c, m, n), m);
    const rank = choose(values);
    const left = new Float64Array(m * rank);
    for (let i = 0; i < m; i++) for (let k = 0; k < rank; k++) left[i * rank + k] = vectors[i * m + k];
    const right = new Float64Array(rank * n);
    for (let i = 0; i < m; i++) {
      for (let k = 0; k < rank; k++) {
        const u = left[i * rank + k];
        if (u === 0) continue;
        for (let j = 0; j < n; j++) right[k * n + j] += u * c[i * n + j];
      }
    }
    return { rank, left, right, sigma2: values };
  }
  // Cᵀ C = V Λ Vᵀ; X = C V_r; R = V_rᵀ (or normalized: L = X / |X|, R = |X| V_rᵀ).
  const { values, vectors } = symmetricEigen(gramCols(c, m, n), n);
  const rank = choose(values);
  const right = new Float64Array(rank * n); // V_rᵀ
  for (let k = 0; k < rank; k++) for (let j = 0; j < n; j++) right[k * n + j] = vectors[j * n + k];
  const left = new Float64Array(m * rank); // C·V_r
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < rank; k++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += c[i * n + j] * right[k * n + j];
      left[i * rank + k] = s;
    }
  }
  if (orthonormal === "left") {
    for (let k = 0; k < rank; k++) {
      let s = 0;
      for (let i = 0; i < m; i++) s += left[i * rank + k] ** 2;
      const norm = Math.sqrt(s);
      for (let i = 0; i < m; i++) left[i * rank + k] = norm > 0 ? left[i * rank + k] / norm : 0;
      for (let j = 0; j < n; j++) right[k * n + j] *= norm;
    }
  }
  return { rank, left, right, sigma2: values };
}
