// Tensor-train (TT-matrix) kernels on f32 cores: y += W·x, Y += X·Wᵀ and a row of W, computed core by core
// from the cores (schema/SPEC.md, "TensorTrain"), never forming W.
//
// Descriptor at `desc` (i32 array, written by runtime/operators/tt.ts):
//   [0] d   [1] rows   [2] cols   [3] maxInter (floats in each of the two work buffers)
//   [4 + 5k ..] core k: ptr (f32, row-major), R_k, m_k, n_k, R_{k+1}
// Core k read as a plain row-major matrix M_k of (R_k·m_k) rows × (n_k·R_{k+1}) columns: its element
// G_k[α, i, j, β] (row α, column (i·n_k + j)·R_{k+1} + β of the stored R_k × m_k·n_k·R_{k+1} matrix) is
// M_k[α·m_k + i, j·R_{k+1} + β] — the same bytes.
// Work: two buffers of maxInter floats at work and work + 4·maxInter (ping-pong).
//
// matvec, right to left. Index groups: I_{>k} = (i_{k+1} … i_{d−1}), J_{<k} = (j_0 … j_{k−1}).
//   start:   A = x zero-padded to N = ∏n, layout [J_{<d−1}, j_{d−1}, β_d (= 1)]
//   step k:  A has layout [I_{>k}, J_{<k}, j_k, β_{k+1}]: P = (∏_{l>k} m_l)(∏_{l<k} n_l) rows of L = n_k·R_{k+1}
//            B[i_k, I_{>k}, J_{<k}, α_k] = Σ_{j_k, β} M_k[α_k·m_k + i_k, j_k·R_{k+1} + β] · A[p, j_k·R_{k+1} + β]
//            i.e. B[((i·P) + p)·R_k + α] — a matmat whose output moves i_k to the front, so B's layout is
//            [I_{≥k}, J_{<k−1}, j_{k−1}, α_k]: step k−1's input. Size of B: (∏_{l≥k} m_l)(∏_{l<k} n_l)·R_k.
//   end:     A = [i_0 … i_{d−1}] (R_0 = 1) = W·x over the padded rows; y[r] += A[r] for r < rows.
//   Cost: Σ_k (∏_{l≥k} m_l)(∏_{l<k} n_l)·R_k·n_k·R_{k+1} multiply-adds.
// gather (row r = (i_0 … i_{d−1})), left to right:
//   v_0 = [1] (1 × R_0); v_{k+1}[J_{≤k}, β] = Σ_α v_k[J_{<k}, α] · G_k[α, i_k, j_k, β]: for each of the
//   ∏_{l<k} n_l rows of v_k, a vecmat with the row slice G_k[:, i_k, :, :] (R_k × n_k·R_{k+1}, row stride
//   m_k·n_k·R_{k+1}). v_d = W[r, :] over the padded columns; out = its first cols entries.
//   Size of v_{k+1}: (∏_{l≤k} n_l)·R_{k+1} ≤ step (k+1)'s matvec intermediate, so maxInter covers it.

import { dot4_f32 } from "./dot";
import { vecmat_f32 } from "./vecmat";

// @ts-ignore: decorator
@inline function field(desc: usize, i: i32): i32 {
  return load<i32>(desc + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function core(desc: usize, k: i32, f: i32): i32 {
  return load<i32>(desc + (<usize>(4 + 5 * k + f) << 2));
}

/** Writes lane t of s (t < m) to b at the position of core row ρ + t: B[((i·P) + p)·R + α], α·mk + i = ρ + t. */
// @ts-ignore: decorator
@inline function scatter(b: usize, s: v128, m: i32, rho: i32, mk: i32, p: i32, P: i32, R: i32): void {
  for (let t = 0; t < m; t++) {
    const v = t == 0
      ? f32x4.extract_lane(s, 0)
      : t == 1
      ? f32x4.extract_lane(s, 1)
      : t == 2
      ? f32x4.extract_lane(s, 2)
      : f32x4.extract_lane(s, 3);
    const row = rho + t;
    const a = row / mk;
    const i = row - a * mk;
    store<f32>(b + ((<usize>(i * P + p) * <usize>R + <usize>a) << 2), v);
  }
}

/**
 * The relaxed module's step for P = 4 (every step of the fast split): B = M_k · Aᵀ as outer products — A
 * (4 × L) transposed into `at` (L × 4: column l of A is one v128), then four core rows at a time, each
 * element of a row broadcast against that column with a fused multiply-add, so every load of A serves four
 * rows and every lane is one of the four outputs (no horizontal sums). Outputs go where the dot-product
 * step puts them: B[((i·4) + p)·R_k + α] for core row α·m_k + i.
 */
// @ts-ignore: decorator
@inline function outer4(w: usize, R: i32, L: i32, mk: i32, rk: i32, a: usize, b: usize, at: usize): void {
  const rowBytes = <usize>L << 2;
  for (let l = 0; l < L; l++) {
    const o = <usize>l << 2;
    v128.store(at + (<usize>l << 4), f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(
      f32x4.splat(load<f32>(a + o)), 1, load<f32>(a + rowBytes + o)), 2, load<f32>(a + 2 * rowBytes + o)), 3,
      load<f32>(a + 3 * rowBytes + o)));
  }
  const step = <usize>rk << 2;
  let row = 0;
  for (; row < R; row += 4) {
    const n = min(4, R - row);
    const m0 = w + <usize>row * rowBytes;
    const m1 = n > 1 ? m0 + rowBytes : m0;
    const m2 = n > 2 ? m0 + 2 * rowBytes : m0;
    const m3 = n > 3 ? m0 + 3 * rowBytes : m0;
    let s0 = f32x4.splat(0);
    let s1 = s0;
    let s2 = s0;
    let s3 = s0;
    let l = 0;
    for (; l + 4 <= L; l += 4) {
      const o = <usize>l << 2;
      const v0 = v128.load(m0 + o);
      const v1 = v128.load(m1 + o);
      const v2 = v128.load(m2 + o);
      const v3 = v128.load(m3 + o);
      const t = at + (<usize>l << 4);
      let c = v128.load(t);
      s0 = f32x4.relaxed_madd(i32x4.shuffle(v0, v0, 0, 0, 0, 0), c, s0);
      s1 = f32x4.relaxed_madd(i32x4.shuffle(v1, v1, 0, 0, 0, 0), c, s1);
      s2 = f32x4.relaxed_madd(i32x4.shuffle(v2, v2, 0, 0, 0, 0), c, s2);
      s3 = f32x4.relaxed_madd(i32x4.shuffle(v3, v3, 0, 0, 0, 0), c, s3);
      c = v128.load(t, 16);
      s0 = f32x4.relaxed_madd(i32x4.shuffle(v0, v0, 1, 1, 1, 1), c, s0);
      s1 = f32x4.relaxed_madd(i32x4.shuffle(v1, v1, 1, 1, 1, 1), c, s1);
      s2 = f32x4.relaxed_madd(i32x4.shuffle(v2, v2, 1, 1, 1, 1), c, s2);
      s3 = f32x4.relaxed_madd(i32x4.shuffle(v3, v3, 1, 1, 1, 1), c, s3);
      c = v128.load(t, 32);
      s0 = f32x4.relaxed_madd(i32x4.shuffle(v0, v0, 2, 2, 2, 2), c, s0);
      s1 = f32x4.relaxed_madd(i32x4.shuffle(v1, v1, 2, 2, 2, 2), c, s1);
      s2 = f32x4.relaxed_madd(i32x4.shuffle(v2, v2, 2, 2, 2, 2), c, s2);
      s3 = f32x4.relaxed_madd(i32x4.shuffle(v3, v3, 2, 2, 2, 2), c, s3);
      c = v128.load(t, 48);
      s0 = f32x4.relaxed_madd(i32x4.shuffle(v0, v0, 3, 3, 3, 3), c, s0);
      s1 = f32x4.relaxed_madd(i32x4.shuffle(v1, v1, 3, 3, 3, 3), c, s1);
      s2 = f32x4.relaxed_madd(i32x4.shuffle(v2, v2, 3, 3, 3, 3), c, s2);
      s3 = f32x4.relaxed_madd(i32x4.shuffle(v3, v3, 3, 3, 3, 3), c, s3);
    }
    for (; l < L; l++) {
      const o = <usize>l << 2;
      const c = v128.load(at + (<usize>l << 4));
      s0 = f32x4.relaxed_madd(f32x4.splat(load<f32>(m0 + o)), c, s0);
      s1 = f32x4.relaxed_madd(f32x4.splat(load<f32>(m1 + o)), c, s1);
      s2 = f32x4.relaxed_madd(f32x4.splat(load<f32>(m2 + o)), c, s2);
      s3 = f32x4.relaxed_madd(f32x4.splat(load<f32>(m3 + o)), c, s3);
    }
    for (let t = 0; t < n; t++) {
      const s = t == 0 ? s0 : t == 1 ? s1 : t == 2 ? s2 : s3;
      const r = row + t;
      const alpha = r / mk;
      const o = b + ((<usize>(r - alpha * mk) * 4 * <usize>rk + <usize>alpha) << 2);
      store<f32>(o, f32x4.extract_lane(s, 0));
      store<f32>(o + step, f32x4.extract_lane(s, 1));
      store<f32>(o + 2 * step, f32x4.extract_lane(s, 2));
      store<f32>(o + 3 * step, f32x4.extract_lane(s, 3));
    }
  }
}

/**
 * y (rows) += W·x (cols) for the TT-matrix described at desc; work: 2·maxInter floats (3·maxInter for the
 * relaxed module's copy, tt_matvec_f32r, whose P = 4 steps transpose A into the third).
 */
export function tt_matvec_f32(desc: usize, x: usize, y: usize, work: usize): void {
  const d = field(desc, 0);
  const rows = field(desc, 1);
  const cols = field(desc, 2);
  if (d <= 0 || rows <= 0) return;
  let a = work;
  let b = work + (<usize>field(desc, 3) << 2);
  let nAll = 1;
  for (let k = 0; k < d; k++) nAll *= core(desc, k, 3);
  const xBytes = <usize>max(cols, 0) << 2;
  memory.copy(a, x, xBytes);
  memory.fill(a + xBytes, 0, (<usize>nAll << 2) - xBytes);
  let mAfter = 1;
  let nBefore = nAll / core(desc, d - 1, 3);
  for (let k = d - 1; k >= 0; k--) {
    const w = <usize>core(desc, k, 0);
    const rk = core(desc, k, 1);
    const mk = core(desc, k, 2);
    const nk = core(desc, k, 3);
    const rk1 = core(desc, k, 4);
    const P = mAfter * nBefore;
    const L = nk * rk1;
    const R = rk * mk;
    const rowBytes = <usize>L << 2;
    if (ASC_FEATURE_RELAXED_SIMD && P == 4) {
      outer4(w, R, L, mk, rk, a, b, work + (<usize>field(desc, 3) << 3));
    } else if (P >= 4) {
      // Each core row against four of A's rows at a time: the core is read ⌈P/4⌉ times, not P times
      // (PTB's fast split: P = 4 in every step, so its 640 kB first core streams once instead of four times).
      for (let row = 0; row < R; row++) {
        const m0 = w + <usize>row * rowBytes;
        const alpha = row / mk;
        const i = row - alpha * mk;
        for (let p = 0; p < P; p += 4) {
          const n = min(4, P - p);
          const q0 = a + <usize>p * rowBytes;
          const s = dot4_f32(q0, n > 1 ? q0 + rowBytes : q0, n > 2 ? q0 + 2 * rowBytes : q0, n > 3 ? q0 + 3 * rowBytes : q0, m0, L);
          const o = b + ((<usize>(i * P + p) * <usize>rk + <usize>alpha) << 2);
          const step = <usize>rk << 2;
          store<f32>(o, f32x4.extract_lane(s, 0));
          if (n > 1) store<f32>(o + step, f32x4.extract_lane(s, 1));
          if (n > 2) store<f32>(o + 2 * step, f32x4.extract_lane(s, 2));
          if (n > 3) store<f32>(o + 3 * step, f32x4.extract_lane(s, 3));
        }
      }
    } else for (let p = 0; p < P; p++) {
      const q = a + <usize>p * rowBytes;
      let rho = 0;
      for (; rho + 4 <= R; rho += 4) {
        const m0 = w + <usize>rho * rowBytes;
        scatter(b, dot4_f32(m0, m0 + rowBytes, m0 + 2 * rowBytes, m0 + 3 * rowBytes, q, L), 4, rho, mk, p, P, rk);
      }
      const left = R - rho;
      if (left > 0) {
        const m0 = w + <usize>rho * rowBytes;
        const m1 = left > 1 ? m0 + rowBytes : m0;
        const m2 = left > 2 ? m0 + 2 * rowBytes : m0;
        scatter(b, dot4_f32(m0, m1, m2, m0, q, L), left, rho, mk, p, P, rk);
      }
    }
    const t = a;
    a = b;
    b = t;
    mAfter *= mk;
    if (k > 0) nBefore /= core(desc, k - 1, 3);
  }
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const o = <usize>r << 2;
    v128.store(y + o, f32x4.add(v128.load(y + o), v128.load(a + o)));
  }
  for (; r < rows; r++) {
    const o = <usize>r << 2;
    store<f32>(y + o, load<f32>(y + o) + load<f32>(a + o));
  }
}

/** Y (n × rows) += X (n × cols) · Wᵀ, one timestep at a time (the cores stay in cache between them). */
export function tt_matmat_f32(desc: usize, x: usize, n: i32, y: usize, work: usize): void {
  const xStride = <usize>max(field(desc, 2), 0) << 2;
  const yStride = <usize>max(field(desc, 1), 0) << 2;
  for (let t = 0; t < n; t++) tt_matvec_f32(desc, x + <usize>t * xStride, y + <usize>t * yStride, work);
}

/** out (cols) = W[row, :] for the TT-matrix described at desc (overwritten); work: 2·maxInter floats. */
export function tt_gather_f32(desc: usize, row: i32, out: usize, work: usize): void {
  const d = field(desc, 0);
  const cols = field(desc, 2);
  if (d <= 0 || cols <= 0) return;
  let a = work;
  let b = work + (<usize>field(desc, 3) << 2);
  store<f32>(a, 1);
  let P = 1;
  for (let k = 0; k < d; k++) {
    const w = <usize>core(desc, k, 0);
    const rk = core(desc, k, 1);
    const mk = core(desc, k, 2);
    const nk = core(desc, k, 3);
    const rk1 = core(desc, k, 4);
    let mAfter = 1;
    for (let l = k + 1; l < d; l++) mAfter *= core(desc, l, 2);
    const ik = (row / mAfter) % mk;
    const L = nk * rk1;
    const slice = w + (<usize>(ik * L) << 2);
    memory.fill(b, 0, <usize>(P * L) << 2);
    for (let p = 0; p < P; p++) {
      vecmat_f32(slice, rk, L, mk * L, a + (<usize>(p * rk) << 2), b + (<usize>(p * L) << 2));
    }
    const t = a;
    a = b;
    b = t;
    P *= nk;
  }
  memory.copy(out, a, <usize>cols << 2);
}
