// Kernels on Quantized matrices (schema/SPEC.md "Quantized"): x = q · scale, int8 (one byte per element,
// row stride cols) or int4 (two per byte, element 2k of a row in the low nibble of byte k, row stride
// ceil(cols / 2)); scales[r · groupsPerRow + ⌊c / group⌋]. They read the codes as they are: no dense copy.
//
// Activations: products first quantize x to int16 with one scale per vector (sx = max|x| / 32767,
// xq = nearest-even(x · (32767 / max|x|)), error ≤ max|x| / 65534 — far below int8/int4 weight error),
// so the inner loops are integer: i8 → i16 widening and i32x4.dot_i16x8_s, 8 multiply-adds per op.
// Each group's integer sum is converted to f32 and multiplied by its scale; the row total by sx.
//   y[r] += sx · Σ_g scale[r, g] · Σ_{c ∈ g} q[r, c] · xq[c]
// Integer sums are exact: they are flushed to f32 every 512 columns (|sum| ≤ 512 · 128 · 32767 < 2^31).
// x with Inf/NaN takes an exact f32 path instead: y[r] += Σ_c (q · scale) · x[c].
//
// `scratch` (matvec and matmat) must hold quantizedScratchBytes(cols) = 4 · ceil32(cols) · 2 bytes: the
// int16 copies of x (four timesteps for matmat). int4 codes are unpacked 32 at a time (16 bytes: low and
// high nibbles split with shifts, interleaved back into column order with two shuffles), then 16 and 8 at a
// time, the last < 8 columns of a group one by one; a group size that is odd (groups starting mid-byte)
// takes the scalar path throughout.
// `group` must be in 1..cols (the caller clamps a file's larger group_size to cols: same meaning).

// @ts-ignore: decorator
@inline const SEGMENT: i32 = 512;
// @ts-ignore: decorator
@inline const XQ_MAX: f32 = 32767;

/** [Σa0, Σa1, Σa2, Σa3] of four f32x4 accumulators, packed. */
// @ts-ignore: decorator
@inline function hsum4f(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const u01 = f32x4.add(f32x4.shuffle(a0, a1, 0, 4, 1, 5), f32x4.shuffle(a0, a1, 2, 6, 3, 7));
  const u23 = f32x4.add(f32x4.shuffle(a2, a3, 0, 4, 1, 5), f32x4.shuffle(a2, a3, 2, 6, 3, 7));
  return f32x4.add(f32x4.shuffle(u01, u23, 0, 1, 4, 5), f32x4.shuffle(u01, u23, 2, 3, 6, 7));
}

/** acc + convert(a) · scale: folds one segment's integer lanes into a row's f32 lanes. */
// @ts-ignore: decorator
@inline function fold(acc: v128, a: v128, scale: v128): v128 {
  return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(a), scale));
}

// @ts-ignore: decorator
@inline function pack4f(v0: f32, v1: f32, v2: f32, v3: f32): v128 {
  return f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(v0), 1, v1), 2, v2), 3, v3);
}

/** Adds the first m (1..4) lanes of s to y[0], y[step], … */
// @ts-ignore: decorator
@inline function addLanes(dst: usize, step: usize, s: v128, m: i32): void {
  store<f32>(dst, load<f32>(dst) + f32x4.extract_lane(s, 0));
  if (m > 1) store<f32>(dst + step, load<f32>(dst + step) + f32x4.extract_lane(s, 1));
  if (m > 2) store<f32>(dst + 2 * step, load<f32>(dst + 2 * step) + f32x4.extract_lane(s, 2));
  if (m > 3) store<f32>(dst + 3 * step, load<f32>(dst + 3 * step) + f32x4.extract_lane(s, 3));
}

/** int4 code of element c of a row at p, sign-extended. */
// @ts-ignore: decorator
@inline function nibble(p: usize, c: i32): i32 {
  return ((<i32>load<u8>(p + (<usize>c >> 1)) >> ((c & 1) << 2)) << 28) >> 28;
}

/** Code of element c of a row at p (bits 8 or 4). */
// @ts-ignore: decorator
@inline function code(p: usize, c: i32, bits: i32): i32 {
  return bits == 8 ? <i32>load<i8>(p + <usize>c) : nibble(p, c);
}

/** Whether int4 takes the SIMD path: every group starts on a byte boundary. */
// @ts-ignore: decorator
@inline function q4Fast(cols: i32, group: i32): bool {
  return (group & 1) == 0 || group >= cols;
}

/** 16 packed int4 codes (8 bytes in lanes 0..7 of w) → the first 16 as i8x16 in column order. */
// @ts-ignore: decorator
@inline function nibblesLow(w: v128): v128 {
  const ev = i8x16.shr_s(i8x16.shl(w, 4), 4);
  const od = i8x16.shr_s(w, 4);
  return i8x16.shuffle(ev, od, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
}

/** Columns 16..31 of 32 packed int4 codes (16 bytes), i8x16 in column order. */
// @ts-ignore: decorator
@inline function nibblesHigh(w: v128): v128 {
  const ev = i8x16.shr_s(i8x16.shl(w, 4), 4);
  const od = i8x16.shr_s(w, 4);
  return i8x16.shuffle(ev, od, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
}

/** acc + Σ (16 int8 codes in n, column order) · (16 int16 activations at xl, xh). */
// @ts-ignore: decorator
@inline function dot16(acc: v128, n: v128, xl: v128, xh: v128): v128 {
  return i32x4.add(
    acc,
    i32x4.add(
      i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(n), xl),
      i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(n), xh),
    ),
  );
}

/** acc + Σ (8 int8 codes in lanes 0..7 of n) · (8 int16 activations xl). */
// @ts-ignore: decorator
@inline function dot8(acc: v128, n: v128, xl: v128): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(n), xl));
}

/**
 * Quantizes x (n f32) to int16 at out and returns sx (x ≈ xq · sx): 0 when x is all zeros (xq = 0),
 * NaN when x holds an Inf or NaN (out not written).
 */
function quantizeX(x: usize, n: i32, out: usize): f32 {
  let m: f32 = 0;
  for (let c = 0; c < n; c++) m = max(m, abs(load<f32>(x + (<usize>c << 2))));
  if (!(m <= F32.MAX_VALUE)) return NaN;
  if (m == 0) {
    memory.fill(out, 0, <usize>n << 1);
    return 0;
  }
  const inv: f32 = XQ_MAX / m;
  for (let c = 0; c < n; c++) {
    store<i16>(out + (<usize>c << 1), <i16>(<i32>nearest<f32>(load<f32>(x + (<usize>c << 2)) * inv)));
  }
  return m / XQ_MAX;
}

/** The exact f32 path (x with Inf/NaN): Σ_c (q·scale)·x[c] for one row. */
function floatRowDot(p: usize, s: usize, cols: i32, group: i32, bits: i32, x: usize): f32 {
  let sum: f32 = 0;
  for (let c = 0; c < cols; c++) {
    const sc = load<f32>(s + (<usize>(c / group) << 2));
    sum += (<f32>code(p, c, bits) * sc) * load<f32>(x + (<usize>c << 2));
  }
  return sum;
}

// @ts-ignore: decorator
@inline function rowStride(cols: i32, bits: i32): usize {
  return bits == 8 ? <usize>cols : <usize>((cols + 1) >> 1);
}

/** 16 int8 codes × 16 int16 activations, added to acc (i32x4). */
// @ts-ignore: decorator
@inline function dot16q8(acc: v128, w: v128, xl: v128, xh: v128): v128 {
  return i32x4.add(
    i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w), xl)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w), xh),
  );
}

/**
 * Four rows (p0..p3, scales s0..s3) · one int16 vector xq → f32x4 [Σ_g scale·Σ q·xq] (before sx).
 * bits 8, or bits 4 with q4Fast (else the scalar path is used for all columns).
 */
// @ts-ignore: decorator
@inline function dot4Rows(
  p0: usize, p1: usize, p2: usize, p3: usize,
  s0: usize, s1: usize, s2: usize, s3: usize,
  xq: usize, cols: i32, group: i32, bits: i32,
): v128 {
  const simd = bits == 8 || q4Fast(cols, group);
  let f0 = f32x4.splat(0);
  let f1 = f0;
  let f2 = f0;
  let f3 = f0;
  let gi: usize = 0;
  for (let g0 = 0; g0 < cols; g0 += group) {
    const g1 = min(cols, g0 + group);
    let c = g0;
    while (c < g1) {
      const end = min(g1, c + SEGMENT);
      let a0 = i32x4.splat(0);
      let a1 = a0;
      let a2 = a0;
      let a3 = a0;
      if (simd) {
        if (bits == 8) {
          for (; c + 16 <= end; c += 16) {
            const xo = xq + (<usize>c << 1);
            const xl = v128.load(xo);
            const xh = v128.load(xo, 16);
            const o = <usize>c;
            a0 = dot16q8(a0, v128.load(p0 + o), xl, xh);
            a1 = dot16q8(a1, v128.load(p1 + o), xl, xh);
            a2 = dot16q8(a2, v128.load(p2 + o), xl, xh);
            a3 = dot16q8(a3, v128.load(p3 + o), xl, xh);
          }
          if (c + 8 <= end) {
            const xl = v128.load(xq + (<usize>c << 1));
            const o = <usize>c;
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v128.load64_zero(p0 + o)), xl));
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v128.load64_zero(p1 + o)), xl));
            a2 = i32x4.add(a2, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v128.load64_zero(p2 + o)), xl));
            a3 = i32x4.add(a3, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v128.load64_zero(p3 + o)), xl));
            c += 8;
          }
        } else {
          for (; c + 32 <= end; c += 32) {
            const xo = xq + (<usize>c << 1);
            const x0 = v128.load(xo);
            const x1 = v128.load(xo, 16);
            const x2 = v128.load(xo, 32);
            const x3 = v128.load(xo, 48);
            const o = <usize>c >> 1;
            const w0 = v128.load(p0 + o);
            const w1 = v128.load(p1 + o);
            const w2 = v128.load(p2 + o);
            const w3 = v128.load(p3 + o);
            a0 = dot16(dot16(a0, nibblesLow(w0), x0, x1), nibblesHigh(w0), x2, x3);
            a1 = dot16(dot16(a1, nibblesLow(w1), x0, x1), nibblesHigh(w1), x2, x3);
            a2 = dot16(dot16(a2, nibblesLow(w2), x0, x1), nibblesHigh(w2), x2, x3);
            a3 = dot16(dot16(a3, nibblesLow(w3), x0, x1), nibblesHigh(w3), x2, x3);
          }
          if (c + 16 <= end) {
            const xo = xq + (<usize>c << 1);
            const x0 = v128.load(xo);
            const x1 = v128.load(xo, 16);
            const o = <usize>c >> 1;
            a0 = dot16(a0, nibblesLow(v128.load64_zero(p0 + o)), x0, x1);
            a1 = dot16(a1, nibblesLow(v128.load64_zero(p1 + o)), x0, x1);
            a2 = dot16(a2, nibblesLow(v128.load64_zero(p2 + o)), x0, x1);
            a3 = dot16(a3, nibblesLow(v128.load64_zero(p3 + o)), x0, x1);
            c += 16;
          }
          if (c + 8 <= end) {
            const x0 = v128.load(xq + (<usize>c << 1));
            const o = <usize>c >> 1;
            a0 = dot8(a0, nibblesLow(v128.load32_zero(p0 + o)), x0);
            a1 = dot8(a1, nibblesLow(v128.load32_zero(p1 + o)), x0);
            a2 = dot8(a2, nibblesLow(v128.load32_zero(p2 + o)), x0);
            a3 = dot8(a3, nibblesLow(v128.load32_zero(p3 + o)), x0);
            c += 8;
          }
        }
      }
      if (c < end) {
        let t0 = 0;
        let t1 = 0;
        let t2 = 0;
        let t3 = 0;
        for (; c < end; c++) {
          const xv = <i32>load<i16>(xq + (<usize>c << 1));
          t0 += code(p0, c, bits) * xv;
          t1 += code(p1, c, bits) * xv;
          t2 += code(p2, c, bits) * xv;
          t3 += code(p3, c, bits) * xv;
        }
        a0 = i32x4.replace_lane(a0, 0, i32x4.extract_lane(a0, 0) + t0);
        a1 = i32x4.replace_lane(a1, 0, i32x4.extract_lane(a1, 0) + t1);
        a2 = i32x4.replace_lane(a2, 0, i32x4.extract_lane(a2, 0) + t2);
        a3 = i32x4.replace_lane(a3, 0, i32x4.extract_lane(a3, 0) + t3);
      }
      f0 = fold(f0, a0, f32x4.splat(load<f32>(s0 + gi)));
      f1 = fold(f1, a1, f32x4.splat(load<f32>(s1 + gi)));
      f2 = fold(f2, a2, f32x4.splat(load<f32>(s2 + gi)));
      f3 = fold(f3, a3, f32x4.splat(load<f32>(s3 + gi)));
    }
    gi += 4;
  }
  return hsum4f(f0, f1, f2, f3);
}

/**
 * One row (p, scales s) · four int16 vectors xq0..xq3 → f32x4 [Σ_g scale·Σ q·xq_t] for t = 0..3.
 */
// @ts-ignore: decorator
@inline function dotRowX4(
  p: usize, s: usize,
  x0: usize, x1: usize, x2: usize, x3: usize,
  cols: i32, group: i32, bits: i32,
): v128 {
  const simd = bits == 8 || q4Fast(cols, group);
  let f0 = f32x4.splat(0);
  let f1 = f0;
  let f2 = f0;
  let f3 = f0;
  let gi: usize = 0;
  for (let g0 = 0; g0 < cols; g0 += group) {
    const g1 = min(cols, g0 + group);
    const sc = f32x4.splat(load<f32>(s + gi));
    gi += 4;
    let c = g0;
    while (c < g1) {
      const end = min(g1, c + SEGMENT);
      let a0 = i32x4.splat(0);
      let a1 = a0;
      let a2 = a0;
      let a3 = a0;
      if (simd) {
        if (bits == 8) {
          for (; c + 16 <= end; c += 16) {
            const w = v128.load(p + <usize>c);
            const lo = i16x8.extend_low_i8x16_s(w);
            const hi = i16x8.extend_high_i8x16_s(w);
            const xo = <usize>c << 1;
            a0 = i32x4.add(a0, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load(x0 + xo)), i32x4.dot_i16x8_s(hi, v128.load(x0 + xo, 16))));
            a1 = i32x4.add(a1, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load(x1 + xo)), i32x4.dot_i16x8_s(hi, v128.load(x1 + xo, 16))));
            a2 = i32x4.add(a2, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load(x2 + xo)), i32x4.dot_i16x8_s(hi, v128.load(x2 + xo, 16))));
            a3 = i32x4.add(a3, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load(x3 + xo)), i32x4.dot_i16x8_s(hi, v128.load(x3 + xo, 16))));
          }
        } else {
          for (; c + 32 <= end; c += 32) {
            const w = v128.load(p + (<usize>c >> 1));
            const lo = nibblesLow(w);
            const hi = nibblesHigh(w);
            const xo = <usize>c << 1;
            a0 = dot16(dot16(a0, lo, v128.load(x0 + xo), v128.load(x0 + xo, 16)), hi, v128.load(x0 + xo, 32), v128.load(x0 + xo, 48));
            a1 = dot16(dot16(a1, lo, v128.load(x1 + xo), v128.load(x1 + xo, 16)), hi, v128.load(x1 + xo, 32), v128.load(x1 + xo, 48));
            a2 = dot16(dot16(a2, lo, v128.load(x2 + xo), v128.load(x2 + xo, 16)), hi, v128.load(x2 + xo, 32), v128.load(x2 + xo, 48));
            a3 = dot16(dot16(a3, lo, v128.load(x3 + xo), v128.load(x3 + xo, 16)), hi, v128.load(x3 + xo, 32), v128.load(x3 + xo, 48));
          }
          if (c + 16 <= end) {
            const lo = nibblesLow(v128.load64_zero(p + (<usize>c >> 1)));
            const xo = <usize>c << 1;
            a0 = dot16(a0, lo, v128.load(x0 + xo), v128.load(x0 + xo, 16));
            a1 = dot16(a1, lo, v128.load(x1 + xo), v128.load(x1 + xo, 16));
            a2 = dot16(a2, lo, v128.load(x2 + xo), v128.load(x2 + xo, 16));
            a3 = dot16(a3, lo, v128.load(x3 + xo), v128.load(x3 + xo, 16));
            c += 16;
          }
          if (c + 8 <= end) {
            const lo = nibblesLow(v128.load32_zero(p + (<usize>c >> 1)));
            const xo = <usize>c << 1;
            a0 = dot8(a0, lo, v128.load(x0 + xo));
            a1 = dot8(a1, lo, v128.load(x1 + xo));
            a2 = dot8(a2, lo, v128.load(x2 + xo));
            a3 = dot8(a3, lo, v128.load(x3 + xo));
            c += 8;
          }
        }
      }
      if (c < end) {
        let t0 = 0;
        let t1 = 0;
        let t2 = 0;
        let t3 = 0;
        for (; c < end; c++) {
          const q = code(p, c, bits);
          const xo = <usize>c << 1;
          t0 += q * <i32>load<i16>(x0 + xo);
          t1 += q * <i32>load<i16>(x1 + xo);
          t2 += q * <i32>load<i16>(x2 + xo);
          t3 += q * <i32>load<i16>(x3 + xo);
        }
        a0 = i32x4.replace_lane(a0, 0, i32x4.extract_lane(a0, 0) + t0);
        a1 = i32x4.replace_lane(a1, 0, i32x4.extract_lane(a1, 0) + t1);
        a2 = i32x4.replace_lane(a2, 0, i32x4.extract_lane(a2, 0) + t2);
        a3 = i32x4.replace_lane(a3, 0, i32x4.extract_lane(a3, 0) + t3);
      }
      f0 = fold(f0, a0, sc);
      f1 = fold(f1, a1, sc);
      f2 = fold(f2, a2, sc);
      f3 = fold(f3, a3, sc);
    }
  }
  return hsum4f(f0, f1, f2, f3);
}

// @ts-ignore: decorator
@inline function matvecQ(
  w: usize, scales: usize, rows: i32, cols: i32, group: i32, x: usize, y: usize, scratch: usize, bits: i32,
): void {
  if (rows <= 0 || cols <= 0) return;
  const sx = quantizeX(x, cols, scratch);
  if (sx == 0) return;
  const stride = rowStride(cols, bits);
  const gpr = (cols - 1) / group + 1;
  const sStride = <usize>gpr << 2;
  if (isNaN(sx)) {
    for (let r = 0; r < rows; r++) {
      const dst = y + (<usize>r << 2);
      store<f32>(dst, load<f32>(dst) + floatRowDot(w + <usize>r * stride, scales + <usize>r * sStride, cols, group, bits, x));
    }
    return;
  }
  const sxv = f32x4.splat(sx);
  for (let r = 0; r < rows; r += 4) {
    const m = min(4, rows - r);
    const p0 = w + <usize>r * stride;
    const q0 = scales + <usize>r * sStride;
    const s = dot4Rows(
      p0, m > 1 ? p0 + stride : p0, m > 2 ? p0 + 2 * stride : p0, m > 3 ? p0 + 3 * stride : p0,
      q0, m > 1 ? q0 + sStride : q0, m > 2 ? q0 + 2 * sStride : q0, m > 3 ? q0 + 3 * sStride : q0,
      scratch, cols, group, bits,
    );
    const dst = y + (<usize>r << 2);
    if (m == 4) v128.store(dst, f32x4.add(v128.load(dst), f32x4.mul(s, sxv)));
    else addLanes(dst, 4, f32x4.mul(s, sxv), m);
  }
}

// @ts-ignore: decorator
@inline function matmatQ(
  w: usize, scales: usize, rows: i32, cols: i32, group: i32, x: usize, n: i32, y: usize, scratch: usize,
  bits: i32,
): void {
  if (rows <= 0 || cols <= 0) return;
  const stride = rowStride(cols, bits);
  const gpr = (cols - 1) / group + 1;
  const sStride = <usize>gpr << 2;
  const xStride = <usize>cols << 2;
  const yStride = <usize>rows << 2;
  const qStride = <usize>((cols + 31) & ~31) << 1;
  for (let t = 0; t < n; t += 4) {
    const m = min(4, n - t);
    const xt = x + <usize>t * xStride;
    const yt = y + <usize>t * yStride;
    const sx0 = quantizeX(xt, cols, scratch);
    const sx1 = m > 1 ? quantizeX(xt + xStride, cols, scratch + qStride) : <f32>0;
    const sx2 = m > 2 ? quantizeX(xt + 2 * xStride, cols, scratch + 2 * qStride) : <f32>0;
    const sx3 = m > 3 ? quantizeX(xt + 3 * xStride, cols, scratch + 3 * qStride) : <f32>0;
    if (isNaN(sx0) || isNaN(sx1) || isNaN(sx2) || isNaN(sx3)) {
      for (let u = 0; u < m; u++) {
        for (let r = 0; r < rows; r++) {
          const dst = yt + <usize>u * yStride + (<usize>r << 2);
          const xu = xt + <usize>u * xStride;
          store<f32>(dst, load<f32>(dst) + floatRowDot(w + <usize>r * stride, scales + <usize>r * sStride, cols, group, bits, xu));
        }
      }
      continue;
    }
    if (sx0 == 0 && sx1 == 0 && sx2 == 0 && sx3 == 0) continue;
    // Lanes past m repeat timestep 0 and are discarded by addLanes.
    const x0 = scratch;
    const x1 = m > 1 ? scratch + qStride : x0;
    const x2 = m > 2 ? scratch + 2 * qStride : x0;
    const x3 = m > 3 ? scratch + 3 * qStride : x0;
    const sxv = pack4f(sx0, sx1, sx2, sx3);
    for (let r = 0; r < rows; r++) {
      const s = dotRowX4(w + <usize>r * stride, scales + <usize>r * sStride, x0, x1, x2, x3, cols, group, bits);
      addLanes(yt + (<usize>r << 2), yStride, f32x4.mul(s, sxv), m);
    }
  }
}

// @ts-ignore: decorator
@inline function gatherQ(w: usize, scales: usize, cols: i32, group: i32, row: i32, out: usize, bits: i32): void {
  if (cols <= 0) return;
  const p = w + <usize>row * rowStride(cols, bits);
  const gpr = (cols - 1) / group + 1;
  const s = scales + (<usize>row * <usize>gpr << 2);
  let gi: usize = 0;
  for (let g0 = 0; g0 < cols; g0 += group) {
    const g1 = min(cols, g0 + group);
    const sc = load<f32>(s + gi);
    gi += 4;
    for (let c = g0; c < g1; c++) store<f32>(out + (<usize>c << 2), <f32>code(p, c, bits) * sc);
  }
}

/** W: (rows, cols) int8 codes, scales (rows · ⌈cols/group⌉) f32; x: (cols) f32; y: (rows) += W·x. */
export function matvec_q8(w: usize, scales: usize, rows: i32, cols: i32, group: i32, x: usize, y: usize, scratch: usize): void {
  matvecQ(w, scales, rows, cols, group, x, y, scratch, 8);
}

/** As matvec_q8 with W as int4 codes (row stride ⌈cols/2⌉ bytes, low nibble first). */
export function matvec_q4(w: usize, scales: usize, rows: i32, cols: i32, group: i32, x: usize, y: usize, scratch: usize): void {
  matvecQ(w, scales, rows, cols, group, x, y, scratch, 4);
}

/** W as matvec_q8; X: (n, cols) f32; Y: (n, rows) += X·Wᵀ. W is read once per four timesteps. */
export function matmat_q8(w: usize, scales: usize, rows: i32, cols: i32, group: i32, x: usize, n: i32, y: usize, scratch: usize): void {
  matmatQ(w, scales, rows, cols, group, x, n, y, scratch, 8);
}

/** As matmat_q8 with W as int4 codes. */
export function matmat_q4(w: usize, scales: usize, rows: i32, cols: i32, group: i32, x: usize, n: i32, y: usize, scratch: usize): void {
  matmatQ(w, scales, rows, cols, group, x, n, y, scratch, 4);
}

/** out: (cols) f32 ← row `row` of an int8 matrix: q · scale. */
export function gather_q8(w: usize, scales: usize, cols: i32, group: i32, row: i32, out: usize): void {
  gatherQ(w, scales, cols, group, row, out, 8);
}

/** out: (cols) f32 ← row `row` of an int4 matrix: q · scale. */
export function gather_q4(w: usize, scales: usize, cols: i32, group: i32, row: i32, out: usize): void {
  gatherQ(w, scales, cols, group, row, out, 4);
}
