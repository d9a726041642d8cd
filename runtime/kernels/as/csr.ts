// Kernels on SparseCsr matrices (schema/SPEC.md "SparseCsr"): row r's non-zeros are entries
// rowPtr[r] .. rowPtr[r+1]−1 of the column indices (u16 or u32, `idxBits` 16 or 32) and of the values, a
// 1 × nnz leaf stored as `valKind` 0 = f32, 1 = f16 (bits), 2 = int8, 3 = int4 (low nibble first); int8/int4
// values use scales[⌊k / group⌋] for non-zero k (group ≥ 1). Scalar loops: WASM SIMD has no gather.
// Every combination of index width and value type is its own specialized matvec loop (chosen once per
// call); matmat specializes 16-bit indices only, and the row gather reads any kind element by element.
//   matvec:  y[r] += Σ_k v_k · x[idx_k]
//   matmat:  Y[t·rows + r] += Σ_k v_k · X[t·cols + idx_k], four timesteps per pass over the non-zeros
//   gather:  out = row `row` as dense (zeros elsewhere)
// Quantized values are summed per group as q · x and multiplied by their scale once per group run.

import { f16ToF32 } from "./f16";

/** Column index k. */
// @ts-ignore: decorator
@inline function index<I>(idx: usize, k: i32): usize {
  return <usize>load<I>(idx + (<usize>k << alignof<I>()));
}

/** Value k before its scale: the f32 value (f32/f16) or the integer code (int8/int4). V marks the kind:
 * f32, u16 (f16 bits), i8 (int8), u8 (int4). */
// @ts-ignore: decorator
@inline function raw<V>(vals: usize, k: i32): f32 {
  if (isFloat<V>()) return load<f32>(vals + (<usize>k << 2));
  if (sizeof<V>() == 2) return f16ToF32(load<u16>(vals + (<usize>k << 1)));
  if (isSigned<V>()) return <f32>load<i8>(vals + <usize>k);
  return <f32>(((<i32>load<u8>(vals + (<usize>k >> 1)) >> ((k & 1) << 2)) << 28) >> 28);
}

// @ts-ignore: decorator
@inline function quantized<V>(): bool {
  return !isFloat<V>() && sizeof<V>() == 1;
}

/** Σ_k v_k · x[idx_k] over k in [k0, k1). */
// @ts-ignore: decorator
@inline function rowDot<I, V>(k0: i32, k1: i32, idx: usize, vals: usize, scales: usize, group: i32, x: usize): f32 {
  let sum: f32 = 0;
  if (!quantized<V>()) {
    for (let k = k0; k < k1; k++) sum += raw<V>(vals, k) * load<f32>(x + (index<I>(idx, k) << 2));
    return sum;
  }
  let k = k0;
  let g = k0 / group;
  while (k < k1) {
    const end = min(k1, (g + 1) * group);
    let part: f32 = 0;
    for (; k < end; k++) part += raw<V>(vals, k) * load<f32>(x + (index<I>(idx, k) << 2));
    sum += part * load<f32>(scales + (<usize>g << 2));
    g++;
  }
  return sum;
}

/** Four timesteps: [Σ v_k · x_t[idx_k]] for x0..x3, packed f32x4. */
// @ts-ignore: decorator
@inline function rowDotX4<I, V>(
  k0: i32, k1: i32, idx: usize, vals: usize, scales: usize, group: i32,
  x0: usize, x1: usize, x2: usize, x3: usize,
): v128 {
  let sum = f32x4.splat(0);
  let k = k0;
  let g = quantized<V>() ? k0 / group : 0;
  while (k < k1) {
    const end = quantized<V>() ? min(k1, (g + 1) * group) : k1;
    let part = f32x4.splat(0);
    for (; k < end; k++) {
      const o = index<I>(idx, k) << 2;
      const xv = f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(load<f32>(x0 + o)), 1, load<f32>(x1 + o)), 2, load<f32>(x2 + o)), 3, load<f32>(x3 + o));
      part = f32x4.add(part, f32x4.mul(xv, f32x4.splat(raw<V>(vals, k))));
    }
    if (quantized<V>()) {
      sum = f32x4.add(sum, f32x4.mul(part, f32x4.splat(load<f32>(scales + (<usize>g << 2)))));
      g++;
    } else sum = part;
  }
  return sum;
}

// @ts-ignore: decorator
@inline function matvecT<I, V>(rowPtr: usize, idx: usize, vals: usize, scales: usize, group: i32, rows: i32, x: usize, y: usize): void {
  let k0 = load<i32>(rowPtr);
  for (let r = 0; r < rows; r++) {
    const k1 = load<i32>(rowPtr + (<usize>(r + 1) << 2));
    if (k1 > k0) {
      const dst = y + (<usize>r << 2);
      store<f32>(dst, load<f32>(dst) + rowDot<I, V>(k0, k1, idx, vals, scales, group, x));
    }
    k0 = k1;
  }
}

// @ts-ignore: decorator
@inline function matmatT<I, V>(
  rowPtr: usize, idx: usize, vals: usize, scales: usize, group: i32, rows: i32, cols: i32, x: usize, n: i32, y: usize,
): void {
  const xStride = <usize>cols << 2;
  const yStride = <usize>rows << 2;
  for (let t = 0; t < n; t += 4) {
    const m = min(4, n - t);
    const x0 = x + <usize>t * xStride;
    const x1 = m > 1 ? x0 + xStride : x0;
    const x2 = m > 2 ? x0 + 2 * xStride : x0;
    const x3 = m > 3 ? x0 + 3 * xStride : x0;
    const y0 = y + <usize>t * yStride;
    let k0 = load<i32>(rowPtr);
    for (let r = 0; r < rows; r++) {
      const k1 = load<i32>(rowPtr + (<usize>(r + 1) << 2));
      if (k1 > k0) {
        const s = rowDotX4<I, V>(k0, k1, idx, vals, scales, group, x0, x1, x2, x3);
        const dst = y0 + (<usize>r << 2);
        store<f32>(dst, load<f32>(dst) + f32x4.extract_lane(s, 0));
        if (m > 1) store<f32>(dst + yStride, load<f32>(dst + yStride) + f32x4.extract_lane(s, 1));
        if (m > 2) store<f32>(dst + 2 * yStride, load<f32>(dst + 2 * yStride) + f32x4.extract_lane(s, 2));
        if (m > 3) store<f32>(dst + 3 * yStride, load<f32>(dst + 3 * yStride) + f32x4.extract_lane(s, 3));
      }
      k0 = k1;
    }
  }
}

/** Value k before its scale, for any `valKind` (chosen per element: the row gather is not a hot loop). */
function valueAt(vals: usize, valKind: i32, k: i32): f32 {
  if (valKind == 0) return raw<f32>(vals, k);
  if (valKind == 1) return raw<u16>(vals, k);
  if (valKind == 2) return raw<i8>(vals, k);
  return raw<u8>(vals, k);
}
/**
 * y (rows) += W·x (x f32). rowPtr: rows + 1 u32; colIdx: nnz u16 (idxBits 16) or u32 (32); vals: the
 * values (valKind 0 f32, 1 f16, 2 int8, 3 int4) with scales/group for 2 and 3 (ignored otherwise).
 */
export function csr_matvec(
  rowPtr: usize, colIdx: usize, idxBits: i32, vals: usize, valKind: i32, scales: usize, group: i32,
  rows: i32, x: usize, y: usize,
): void {
  if (rows <= 0) return;
  if (idxBits == 16) {
    if (valKind == 0) matvecT<u16, f32>(rowPtr, colIdx, vals, scales, group, rows, x, y);
    else if (valKind == 1) matvecT<u16, u16>(rowPtr, colIdx, vals, scales, group, rows, x, y);
    else if (valKind == 2) matvecT<u16, i8>(rowPtr, colIdx, vals, scales, group, rows, x, y);
    else matvecT<u16, u8>(rowPtr, colIdx, vals, scales, group, rows, x, y);
  } else {
    if (valKind == 0) matvecT<u32, f32>(rowPtr, colIdx, vals, scales, group, rows, x, y);
    else if (valKind == 1) matvecT<u32, u16>(rowPtr, colIdx, vals, scales, group, rows, x, y);
    else if (valKind == 2) matvecT<u32, i8>(rowPtr, colIdx, vals, scales, group, rows, x, y);
    else matvecT<u32, u8>(rowPtr, colIdx, vals, scales, group, rows, x, y);
  }
}

/**
 * Y (n, rows) += X (n, cols) · Wᵀ; arguments as csr_matvec. Four timesteps per pass over the non-zeros with
 * 16-bit indices; with 32-bit indices (matrices of more than 65536 columns) one csr_matvec per timestep.
 */
export function csr_matmat(
  rowPtr: usize, colIdx: usize, idxBits: i32, vals: usize, valKind: i32, scales: usize, group: i32,
  rows: i32, cols: i32, x: usize, n: i32, y: usize,
): void {
  if (rows <= 0 || n <= 0) return;
  if (idxBits != 16) {
    for (let t = 0; t < n; t++) {
      csr_matvec(
        rowPtr, colIdx, idxBits, vals, valKind, scales, group, rows,
        x + <usize>t * (<usize>cols << 2), y + <usize>t * (<usize>rows << 2),
      );
    }
    return;
  }
  if (valKind == 0) matmatT<u16, f32>(rowPtr, colIdx, vals, scales, group, rows, cols, x, n, y);
  else if (valKind == 1) matmatT<u16, u16>(rowPtr, colIdx, vals, scales, group, rows, cols, x, n, y);
  else if (valKind == 2) matmatT<u16, i8>(rowPtr, colIdx, vals, scales, group, rows, cols, x, n, y);
  else matmatT<u16, u8>(rowPtr, colIdx, vals, scales, group, rows, cols, x, n, y);
}

/** out (cols) f32 ← row `row` of W as dense (zeros where nothing is stored); arguments as csr_matvec. */
export function csr_gather(
  rowPtr: usize, colIdx: usize, idxBits: i32, vals: usize, valKind: i32, scales: usize, group: i32,
  cols: i32, row: i32, out: usize,
): void {
  if (cols <= 0) return;
  memory.fill(out, 0, <usize>cols << 2);
  const k0 = load<i32>(rowPtr + (<usize>row << 2));
  const k1 = load<i32>(rowPtr + (<usize>(row + 1) << 2));
  const quantizedValues = valKind >= 2;
  for (let k = k0; k < k1; k++) {
    let v = valueAt(vals, valKind, k);
    if (quantizedValues) v *= load<f32>(scales + (<usize>(k / group) << 2));
    const c = idxBits == 16 ? index<u16>(colIdx, k) : index<u32>(colIdx, k);
    store<f32>(out + (c << 2), v);
  }
}
