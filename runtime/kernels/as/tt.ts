// Tensor-train (TT-matrix) kernels on f32 cores: y += W·x, Y += X·Wᵀ and a row of W, computed core by core
// from the cores (schema/SPEC.md, "TensorTrain"), never forming W.
//
// Descriptor at `desc` (i32 array, written by runtime/operators/tt.ts):
//   [0] d   [1] rows   [2] cols   [3] maxInter (floats in each of the two work buffers)
//   [4 + 5k ..] core k: ptr (f32, row-major), R_k, m_k, n_k, R_{k+1}
// Core k read as a plain row-major matrix M_k of (R_k·m_k) rows × (n_k·R_{k+1}) columns: its element
// G_k[α, i, j, β] (row α, column (i·n_k + j)·R_{k+1} + β of the stored R_k × m_k·n_k·R_{k+1} matrix) is
// M_k[α·m_k + i, j·R_{k+1} + β] — the same bytes.
// Work: two buffers of maxInter floats at work and work + 4·maxInter (ping-pong), and for the matvec's
// P = 4 steps a third at work + 8·maxInter (the step input transposed, `outer4`).
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
import { madd } from "./madd";
import { vecmat_f32 } from "./vecmat";

// @ts-ignore: decorator
@inline export function field(desc: usize, i: i32): i32 {
  return load<i32>(desc + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline export function core(desc: usize, k: i32, f: i32): i32 {
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

/** Lane j of v in every lane. */
// @ts-ignore: decorator
@inline function lane(v: v128, j: i32): v128 {
  return j == 0
    ? i32x4.shuffle(v, v, 0, 0, 0, 0)
    : j == 1
    ? i32x4.shuffle(v, v, 1, 1, 1, 1)
    : j == 2
    ? i32x4.shuffle(v, v, 2, 2, 2, 2)
    : i32x4.shuffle(v, v, 3, 3, 3, 3);
}

/** s + Σ_{j<4} v[j] · c_j: one core row's four elements against A's columns l..l+3 (c0..c3). */
// @ts-ignore: decorator
@inline function rowQuad(s: v128, v: v128, c0: v128, c1: v128, c2: v128, c3: v128): v128 {
  return madd(lane(v, 3), c3, madd(lane(v, 2), c2, madd(lane(v, 1), c1, madd(lane(v, 0), c0, s))));
}

/** s + Σ_{l ∈ [l0, L)} M[row, l] · A[:, l] (the columns past the last whole quad). */
// @ts-ignore: decorator
@inline function rowTail(s: v128, m: usize, at: usize, l0: i32, L: i32): v128 {
  for (let l = l0; l < L; l++) {
    s = madd(f32x4.splat(load<f32>(m + (<usize>l << 2))), v128.load(at + (<usize>l << 4)), s);
  }
  return s;
}

/**
 * The step for P = 4 (every step of the fast split): B = M_k · Aᵀ as outer products — A (4 × L) transposed
 * into `at` (L × 4: column l of A is one v128), then eight core rows at a time, each element of a row
 * broadcast against that column with a multiply-add (madd.ts: fused in the relaxed module), so every load of
 * A serves eight rows and every lane is one of the four outputs (no horizontal sums); eight accumulators keep
 * eight chains of multiply-adds in flight (with four rows the chains' latency bound the loop: PTB-shaped
 * decoder 10000 × 200 at rank 16, relaxed 63.2 → 44.5 µs; the plain module's dot products of a core row
 * against A's four rows took 112.3, now 52.9). Outputs go where the dot-product step puts them:
 * B[((i·4) + p)·R_k + α] for core row α·m_k + i — for R_k = 1 (the first core, the largest) row ρ's four
 * at b + 16ρ, one store. Per row the sum runs over l in order, as the four-row version's did.
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
  const L4 = L & ~3;
  let row = 0;
  for (; row + 8 <= R; row += 8) {
    const m0 = w + <usize>row * rowBytes;
    const m1 = m0 + rowBytes;
    const m2 = m1 + rowBytes;
    const m3 = m2 + rowBytes;
    const m4 = m3 + rowBytes;
    const m5 = m4 + rowBytes;
    const m6 = m5 + rowBytes;
    const m7 = m6 + rowBytes;
    let s0 = f32x4.splat(0);
    let s1 = s0;
    let s2 = s0;
    let s3 = s0;
    let s4 = s0;
    let s5 = s0;
    let s6 = s0;
    let s7 = s0;
    for (let l = 0; l < L4; l += 4) {
      const o = <usize>l << 2;
      const t = at + (<usize>l << 4);
      const c0 = v128.load(t);
      const c1 = v128.load(t, 16);
      const c2 = v128.load(t, 32);
      const c3 = v128.load(t, 48);
      s0 = rowQuad(s0, v128.load(m0 + o), c0, c1, c2, c3);
      s1 = rowQuad(s1, v128.load(m1 + o), c0, c1, c2, c3);
      s2 = rowQuad(s2, v128.load(m2 + o), c0, c1, c2, c3);
      s3 = rowQuad(s3, v128.load(m3 + o), c0, c1, c2, c3);
      s4 = rowQuad(s4, v128.load(m4 + o), c0, c1, c2, c3);
      s5 = rowQuad(s5, v128.load(m5 + o), c0, c1, c2, c3);
      s6 = rowQuad(s6, v128.load(m6 + o), c0, c1, c2, c3);
      s7 = rowQuad(s7, v128.load(m7 + o), c0, c1, c2, c3);
    }
    if (L4 < L) {
      s0 = rowTail(s0, m0, at, L4, L);
      s1 = rowTail(s1, m1, at, L4, L);
      s2 = rowTail(s2, m2, at, L4, L);
      s3 = rowTail(s3, m3, at, L4, L);
      s4 = rowTail(s4, m4, at, L4, L);
      s5 = rowTail(s5, m5, at, L4, L);
      s6 = rowTail(s6, m6, at, L4, L);
      s7 = rowTail(s7, m7, at, L4, L);
    }
    if (rk == 1) {
      const o = b + (<usize>row << 4);
      v128.store(o, s0);
      v128.store(o, s1, 16);
      v128.store(o, s2, 32);
      v128.store(o, s3, 48);
      v128.store(o, s4, 64);
      v128.store(o, s5, 80);
      v128.store(o, s6, 96);
      v128.store(o, s7, 112);
      continue;
    }
    for (let t = 0; t < 8; t++) {
      const s = t == 0 ? s0 : t == 1 ? s1 : t == 2 ? s2 : t == 3 ? s3 : t == 4 ? s4 : t == 5 ? s5 : t == 6 ? s6 : s7;
      storeOuter(b, s, row + t, mk, rk);
    }
  }
  // The last R mod 8 rows one at a time.
  for (; row < R; row++) {
    const m0 = w + <usize>row * rowBytes;
    let s = f32x4.splat(0);
    for (let l = 0; l < L4; l += 4) {
      const t = at + (<usize>l << 4);
      s = rowQuad(s, v128.load(m0 + (<usize>l << 2)), v128.load(t), v128.load(t, 16), v128.load(t, 32), v128.load(t, 48));
    }
    storeOuter(b, rowTail(s, m0, at, L4, L), row, mk, rk);
  }
}

/** Core row r's four outputs s (p = 0..3) to B[((i·4) + p)·R_k + α], r = α·m_k + i. */
// @ts-ignore: decorator
@inline function storeOuter(b: usize, s: v128, r: i32, mk: i32, rk: i32): void {
  const alpha = r / mk;
  const step = <usize>rk << 2;
  const o = b + ((<usize>(r - alpha * mk) * 4 * <usize>rk + <usize>alpha) << 2);
  store<f32>(o, f32x4.extract_lane(s, 0));
  store<f32>(o + step, f32x4.extract_lane(s, 1));
  store<f32>(o + 2 * step, f32x4.extract_lane(s, 2));
  store<f32>(o + 3 * step, f32x4.extract_lane(s, 3));
}

/**
 * y (rows) += W·x (cols) for the TT-matrix described at desc; work: 3·maxInter floats (the P = 4 steps
 * transpose A into the third).
 */
export function tt_matvec_f32(desc: usize, x: usize, y: usize, work: usize): void {
  const rows = field(desc, 1);
  if (field(desc, 0) <= 0 || rows <= 0) return;
  const a = ttSteps(desc, x, work, 0);
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

/**
 * The matvec's steps d−1 down to `last` (d ≥ 1, rows ≥ 1): returns the work buffer holding their result, the
 * step input of step last − 1 (last = 0: W·x over the padded rows). The other of the two buffers is free.
 */
export function ttSteps(desc: usize, x: usize, work: usize, last: i32): usize {
  const d = field(desc, 0);
  const cols = field(desc, 2);
  let a = work;
  let b = work + (<usize>field(desc, 3) << 2);
  let nAll = 1;
  for (let k = 0; k < d; k++) nAll *= core(desc, k, 3);
  const xBytes = <usize>max(cols, 0) << 2;
  memory.copy(a, x, xBytes);
  memory.fill(a + xBytes, 0, (<usize>nAll << 2) - xBytes);
  let mAfter = 1;
  let nBefore = nAll / core(desc, d - 1, 3);
  for (let k = d - 1; k >= last; k--) {
    const w = <usize>core(desc, k, 0);
    const rk = core(desc, k, 1);
    const mk = core(desc, k, 2);
    const nk = core(desc, k, 3);
    const rk1 = core(desc, k, 4);
    const P = mAfter * nBefore;
    const L = nk * rk1;
    const R = rk * mk;
    const rowBytes = <usize>L << 2;
    if (P == 4) {
      outer4(w, R, L, mk, rk, a, b, work + (<usize>field(desc, 3) << 3));
    } else if (P > 4) {
      // Each core row against four of A's rows at a time: the core is read ⌈P/4⌉ times, not P times.
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
  return a;
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
