// Kernels on SparseBlocks matrices (schema/SPEC.md "SparseBlocks"): the matrix is cut into blocks of R = 1
// or 4 rows × C = 4, 8 or 16 columns and only kept blocks are stored. Block row i's blocks are entries
// rowPtr[i] .. rowPtr[i+1]−1 of the block indices (u16; j = the block column)
// and of the values, a 1 × (nblocks · R · C) leaf stored as `valKind` 0 = f32 or 2 = int8, block k's R
// rows of C at k·R·C (int8: scales[⌊k·R·C / group⌋]; group a multiple of R·C, so a block never straddles
// two scales).
//   matvec:  y[r] += Σ_{kept blocks (i, j), r in block row i} Σ_{c<C} v[k, r − iR, c] · x[jC + c]
//   matmat:  Y[t·rows + r] += the same for every timestep t (one matvec per timestep)
//   gather:  out = row `row` as dense (zeros in dropped blocks)
// Unlike CSR (one scalar multiply-add per non-zero: WASM SIMD has no gather), a kept block is dense: per
// block one index, one load of the x segment it meets (shared by its R rows), and per row one SIMD load
// of values and i32x4.dot_i16x8_s (int8) or f32x4 mul/add (f32). The per-block and per-block-row costs
// (index, loop, the row's scale and store) are what separate a sparse product from a dense one; 4-row
// blocks pay them once per four rows.
//
// x is first copied into `scratch` (blocksScratchBytes(cols) bytes): as int16 codes (int8 values; one scale
// sx for the vector, as as/quantized.ts's plain products: error ≤ max|x| / 65534) or as f32 (f32 values),
// zero-padded to a whole number of blocks, so that the last block of a row may reach past cols without
// reading past x. int8 sums are exact integers per run of one scale (flushed every SEGMENT = 512 values, so
// the four lanes' total |sum| ≤ 512 · 128 · 32767 < 2^31), then · scale, then the row · sx. x with Inf/NaN takes an exact
// f32 path instead: y[r] += Σ (q · scale) · x[c].

import { quantizeX } from "./quantized";

// @ts-ignore: decorator
@inline export const SEGMENT: i32 = 512;

/** Block index k. */
// @ts-ignore: decorator
@inline function blockAt(idx: usize, k: i32): i32 {
  return <i32>load<u16>(idx + (<usize>k << 1));
}

// @ts-ignore: decorator
@inline function hsumI32(a: v128): i32 {
  return i32x4.extract_lane(a, 0) + i32x4.extract_lane(a, 1) + i32x4.extract_lane(a, 2) +
    i32x4.extract_lane(a, 3);
}

// @ts-ignore: decorator
@inline function hsumF32(a: v128): f32 {
  return f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) +
    f32x4.extract_lane(a, 3);
}

/** R = 1: Σ over blocks k0..k1 of int8 codes · int16 xq, exact in i32 lanes (≤ SEGMENT values). C: 4, 8 or 16. */
// @ts-ignore: decorator
@inline function dotQ8Blocks(k0: i32, k1: i32, idx: usize, vals: usize, c: i32, xq: usize): v128 {
  let acc = i32x4.splat(0);
  if (c == 16) {
    for (let k = k0; k < k1; k++) {
      const v = v128.load(vals + (<usize>k << 4));
      const xp = xq + (<usize>blockAt(idx, k) << 5);
      acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v), v128.load(xp)));
      acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v), v128.load(xp, 16)));
    }
  } else if (c == 8) {
    for (let k = k0; k < k1; k++) {
      const v = v128.load64_zero(vals + (<usize>k << 3));
      const xp = xq + (<usize>blockAt(idx, k) << 4);
      acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v), v128.load(xp)));
    }
  } else {
    for (let k = k0; k < k1; k++) {
      const v = v128.load32_zero(vals + (<usize>k << 2));
      const xp = xq + (<usize>blockAt(idx, k) << 3);
      acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v), v128.load64_zero(xp)));
    }
  }
  return acc;
}

/** R = 1: Σ over blocks k0..k1 of f32 values · f32 x, four lanes. C: 4, 8 or 16. */
// @ts-ignore: decorator
@inline function dotF32Blocks(k0: i32, k1: i32, idx: usize, vals: usize, c: i32, xf: usize): v128 {
  let a0 = f32x4.splat(0);
  let a1 = a0;
  if (c == 16) {
    for (let k = k0; k < k1; k++) {
      const v = vals + (<usize>k << 6);
      const xp = xf + (<usize>blockAt(idx, k) << 6);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(v), v128.load(xp)));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(v, 16), v128.load(xp, 16)));
      a0 = f32x4.add(a0, f32x4.mul(v128.load(v, 32), v128.load(xp, 32)));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(v, 48), v128.load(xp, 48)));
    }
  } else if (c == 8) {
    for (let k = k0; k < k1; k++) {
      const v = vals + (<usize>k << 5);
      const xp = xf + (<usize>blockAt(idx, k) << 5);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(v), v128.load(xp)));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(v, 16), v128.load(xp, 16)));
    }
  } else {
    for (let k = k0; k < k1; k++) {
      a0 = f32x4.add(a0, f32x4.mul(v128.load(vals + (<usize>k << 4)), v128.load(xf + (<usize>blockAt(idx, k) << 4))));
    }
  }
  return f32x4.add(a0, a1);
}

/** [Σa0, Σa1, Σa2, Σa3] of four i32x4 accumulators. */
// @ts-ignore: decorator
@inline function hsum4I32(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const u01 = i32x4.add(i32x4.shuffle(a0, a1, 0, 4, 1, 5), i32x4.shuffle(a0, a1, 2, 6, 3, 7));
  const u23 = i32x4.add(i32x4.shuffle(a2, a3, 0, 4, 1, 5), i32x4.shuffle(a2, a3, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(u01, u23, 0, 1, 4, 5), i32x4.shuffle(u01, u23, 2, 3, 6, 7));
}

// @ts-ignore: decorator
@inline function hsum4F32(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const u01 = f32x4.add(f32x4.shuffle(a0, a1, 0, 4, 1, 5), f32x4.shuffle(a0, a1, 2, 6, 3, 7));
  const u23 = f32x4.add(f32x4.shuffle(a2, a3, 0, 4, 1, 5), f32x4.shuffle(a2, a3, 2, 6, 3, 7));
  return f32x4.add(f32x4.shuffle(u01, u23, 0, 1, 4, 5), f32x4.shuffle(u01, u23, 2, 3, 6, 7));
}

/** R = 4: [row 0..3 sums] over blocks k0..k1 of int8 codes · int16 xq, exact (≤ SEGMENT values). */
// @ts-ignore: decorator
@inline function dotQ8Blocks4(k0: i32, k1: i32, idx: usize, vals: usize, c: i32, xq: usize): v128 {
  let a0 = i32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  if (c == 16) {
    for (let k = k0; k < k1; k++) {
      const v = vals + (<usize>k << 6);
      const xp = xq + (<usize>blockAt(idx, k) << 5);
      const xl = v128.load(xp);
      const xh = v128.load(xp, 16);
      const v0 = v128.load(v);
      const v1 = v128.load(v, 16);
      const v2 = v128.load(v, 32);
      const v3 = v128.load(v, 48);
      a0 = i32x4.add(a0, i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v0), xl), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v0), xh)));
      a1 = i32x4.add(a1, i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v1), xl), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v1), xh)));
      a2 = i32x4.add(a2, i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v2), xl), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v2), xh)));
      a3 = i32x4.add(a3, i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v3), xl), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v3), xh)));
    }
    return hsum4I32(a0, a1, a2, a3);
  }
  if (c == 8) {
    for (let k = k0; k < k1; k++) {
      const v = vals + (<usize>k << 5);
      const xv = v128.load(xq + (<usize>blockAt(idx, k) << 4));
      const v01 = v128.load(v);
      const v23 = v128.load(v, 16);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v01), xv));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v01), xv));
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v23), xv));
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v23), xv));
    }
    return hsum4I32(a0, a1, a2, a3);
  }
  // c == 4: 16 codes = rows 0..3 × 4; x's 4 codes repeated in both halves, so lanes (0, 1) of a dot
  // belong to one row and (2, 3) to the next.
  for (let k = k0; k < k1; k++) {
    const v = v128.load(vals + (<usize>k << 4));
    const xs = v128.load64_splat(xq + (<usize>blockAt(idx, k) << 3));
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v), xs));
    a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v), xs));
  }
  // a0 = [r0, r0, r1, r1], a1 = [r2, r2, r3, r3] → [r0, r1, r2, r3]
  return i32x4.add(i32x4.shuffle(a0, a1, 0, 2, 4, 6), i32x4.shuffle(a0, a1, 1, 3, 5, 7));
}

/** R = 4: [row 0..3 sums] over blocks k0..k1 of f32 values · f32 x. */
// @ts-ignore: decorator
@inline function dotF32Blocks4(k0: i32, k1: i32, idx: usize, vals: usize, c: i32, xf: usize): v128 {
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  const rowBytes = <usize>c << 2;
  for (let k = k0; k < k1; k++) {
    const v = vals + (<usize>k << 4) * <usize>c;
    const xp = xf + <usize>blockAt(idx, k) * rowBytes;
    for (let o: usize = 0; o < rowBytes; o += 16) {
      const xv = v128.load(xp + o);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(v + o), xv));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(v + rowBytes + o), xv));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(v + 2 * rowBytes + o), xv));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(v + 3 * rowBytes + o), xv));
    }
  }
  return hsum4F32(a0, a1, a2, a3);
}

/** Adds lanes 0..m−1 of s to y[r0 ..]. */
// @ts-ignore: decorator
@inline function addRows(y: usize, s: v128, m: i32): void {
  if (m >= 4) {
    v128.store(y, f32x4.add(v128.load(y), s));
    return;
  }
  if (m > 0) store<f32>(y, load<f32>(y) + f32x4.extract_lane(s, 0));
  if (m > 1) store<f32>(y, load<f32>(y, 4) + f32x4.extract_lane(s, 1), 4);
  if (m > 2) store<f32>(y, load<f32>(y, 8) + f32x4.extract_lane(s, 2), 8);
}

/**
 * The exact f32 path of row q of a block row (int8 values, x with Inf/NaN): Σ (code · scale) · x[c] over
 * columns c < cols of blocks k0..k1 (block size rc = R·C).
 */
// @ts-ignore: decorator
@inline function exactRowQ8(k0: i32, k1: i32, idx: usize, vals: usize, scales: usize, group: i32, c: i32, rc: i32, q: i32, cols: i32, x: usize): f32 {
  let sum: f32 = 0;
  for (let k = k0; k < k1; k++) {
    const start = blockAt(idx, k) * c;
    const sc = load<f32>(scales + (<usize>((k * rc) / group) << 2));
    const v = vals + <usize>(k * rc + q * c);
    for (let j = 0; j < c && start + j < cols; j++) {
      sum += (<f32>load<i8>(v + <usize>j) * sc) * load<f32>(x + (<usize>(start + j) << 2));
    }
  }
  return sum;
}

// @ts-ignore: decorator
@inline function matvecRows(
  rowPtr: usize, idx: usize, vals: usize, valKind: i32, scales: usize, group: i32, br: i32, c: i32,
  rows: i32, cols: i32, x: usize, y: usize, scratch: usize,
): void {
  const padded = ((cols + c - 1) / c) * c;
  const blockRows = (rows + br - 1) / br;
  if (valKind == 0) {
    memory.copy(scratch, x, <usize>cols << 2);
    memory.fill(scratch + (<usize>cols << 2), 0, <usize>(padded - cols) << 2);
    let k = <i32>load<u32>(rowPtr);
    for (let i = 0; i < blockRows; i++) {
      const k1 = <i32>load<u32>(rowPtr + (<usize>i << 2), 4);
      if (k1 <= k) continue;
      if (br == 1) {
        const dst = y + (<usize>i << 2);
        store<f32>(dst, load<f32>(dst) + hsumF32(dotF32Blocks(k, k1, idx, vals, c, scratch)));
      } else {
        addRows(y + (<usize>i << 4), dotF32Blocks4(k, k1, idx, vals, c, scratch), rows - 4 * i);
      }
      k = k1;
    }
    return;
  }
  const rc = br * c;
  const sx = quantizeX(x, cols, scratch, false, cols, 0);
  if (sx == 0) return;
  if (isNaN(sx)) {
    for (let i = 0; i < blockRows; i++) {
      const k0 = <i32>load<u32>(rowPtr + (<usize>i << 2));
      const k1 = <i32>load<u32>(rowPtr + (<usize>i << 2), 4);
      for (let q = 0; q < br && i * br + q < rows; q++) {
        const dst = y + (<usize>(i * br + q) << 2);
        if (k1 > k0) store<f32>(dst, load<f32>(dst) + exactRowQ8(k0, k1, idx, vals, scales, group, c, rc, q, cols, x));
      }
    }
    return;
  }
  memory.fill(scratch + (<usize>cols << 1), 0, <usize>(padded - cols) << 1);
  // Blocks are visited in order across block rows, so the scale group only moves forward: no division.
  const perSegment = SEGMENT / rc;
  const blocksPerGroup = group / rc;
  let k = <i32>load<u32>(rowPtr);
  let g = k / blocksPerGroup;
  let groupEnd = (g + 1) * blocksPerGroup;
  for (let i = 0; i < blockRows; i++) {
    const k1 = <i32>load<u32>(rowPtr + (<usize>i << 2), 4);
    if (k1 <= k) continue;
    let total: f32 = 0;
    let total4 = f32x4.splat(0);
    while (k < k1) {
      const end = min(k1, min(groupEnd, k + perSegment));
      const scale = load<f32>(scales + (<usize>g << 2));
      if (br == 1) total += <f32>hsumI32(dotQ8Blocks(k, end, idx, vals, c, scratch)) * scale;
      else {
        const sums = f32x4.convert_i32x4_s(dotQ8Blocks4(k, end, idx, vals, c, scratch));
        total4 = f32x4.add(total4, f32x4.mul(sums, f32x4.splat(scale)));
      }
      k = end;
      if (k == groupEnd) {
        g++;
        groupEnd += blocksPerGroup;
      }
    }
    if (br == 1) {
      const dst = y + (<usize>i << 2);
      store<f32>(dst, load<f32>(dst) + total * sx);
    } else {
      addRows(y + (<usize>i << 4), f32x4.mul(total4, f32x4.splat(sx)), rows - 4 * i);
    }
  }
}

/**
 * y (rows) += W · x. rowPtr: ceil(rows / br) + 1 u32; idx: block indices (u16);
 * vals: f32 (valKind 0) or int8 codes (valKind 2) of nblocks · br · c; scales/group: int8 only (group a
 * multiple of br · c); br: 1 or 4; c: 4, 8 or 16; x: cols f32; scratch: blocksScratchBytes(cols).
 */
export function blocks_matvec(
  rowPtr: usize, idx: usize, vals: usize, valKind: i32, scales: usize, group: i32, br: i32,
  c: i32, rows: i32, cols: i32, x: usize, y: usize, scratch: usize,
): void {
  if (rows <= 0 || cols <= 0) return;
  matvecRows(rowPtr, idx, vals, valKind, scales, group, br, c, rows, cols, x, y, scratch);
}

/** Y (n × rows) += X (n × cols) · Wᵀ: one blocks_matvec per timestep (each quantizes its own x). */
export function blocks_matmat(
  rowPtr: usize, idx: usize, vals: usize, valKind: i32, scales: usize, group: i32, br: i32,
  c: i32, rows: i32, cols: i32, x: usize, n: i32, y: usize, scratch: usize,
): void {
  for (let t = 0; t < n; t++) {
    blocks_matvec(
      rowPtr, idx, vals, valKind, scales, group, br, c, rows, cols,
      x + <usize>t * (<usize>cols << 2), y + <usize>t * (<usize>rows << 2), scratch,
    );
  }
}

// @ts-ignore: decorator
@inline function gatherRow(
  rowPtr: usize, idx: usize, vals: usize, valKind: i32, scales: usize, group: i32, br: i32, c: i32,
  cols: i32, row: i32, out: usize,
): void {
  memory.fill(out, 0, <usize>cols << 2);
  const i = row / br;
  const q = row - i * br;
  const rc = br * c;
  const k0 = <i32>load<u32>(rowPtr + (<usize>i << 2));
  const k1 = <i32>load<u32>(rowPtr + (<usize>i << 2), 4);
  for (let k = k0; k < k1; k++) {
    const start = blockAt(idx, k) * c;
    const n = min(c, cols - start);
    const at = k * rc + q * c;
    if (valKind == 0) {
      memory.copy(out + (<usize>start << 2), vals + (<usize>at << 2), <usize>n << 2);
      continue;
    }
    const sc = load<f32>(scales + (<usize>((k * rc) / group) << 2));
    for (let j = 0; j < n; j++) {
      store<f32>(out + (<usize>(start + j) << 2), <f32>load<i8>(vals + <usize>(at + j)) * sc);
    }
  }
}

/** out (cols f32) = row `row` of W as dense, zeros in dropped blocks (int8: q · scale as an f32 product). */
export function blocks_gather(
  rowPtr: usize, idx: usize, vals: usize, valKind: i32, scales: usize, group: i32, br: i32,
  c: i32, cols: i32, row: i32, out: usize,
): void {
  if (cols <= 0) return;
  gatherRow(rowPtr, idx, vals, valKind, scales, group, br, c, cols, row, out);
}
