// Vector × matrix (a weighted sum of rows), accumulating: y[c] += Σ_r x[r] · W[r·stride + c], c < cols.
// Used where a factor is applied from the left: the low-rank embedding row A[row]·B = Bᵀ·a, and the row
// slices of TT cores in tt.ts. `stride` (in floats, ≥ cols) lets W be a column range of a wider matrix.
// Four rows per pass share each load and store of y; SIMD runs along the columns. Sizes ≤ 0 do nothing.

/** W: rows × cols f32 with row stride `stride` floats; x: (rows) f32; y: (cols) f32, accumulated. */
export function vecmat_f32(w: usize, rows: i32, cols: i32, stride: i32, x: usize, y: usize): void {
  if (cols <= 0) return;
  const rs = <usize>stride << 2;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const p0 = w + <usize>r * rs;
    const p1 = p0 + rs;
    const p2 = p1 + rs;
    const p3 = p2 + rs;
    const xr = x + (<usize>r << 2);
    const s0 = load<f32>(xr);
    const s1 = load<f32>(xr, 4);
    const s2 = load<f32>(xr, 8);
    const s3 = load<f32>(xr, 12);
    const v0 = f32x4.splat(s0);
    const v1 = f32x4.splat(s1);
    const v2 = f32x4.splat(s2);
    const v3 = f32x4.splat(s3);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const o = <usize>c << 2;
      let a = v128.load(y + o);
      a = f32x4.add(a, f32x4.add(
        f32x4.add(f32x4.mul(v128.load(p0 + o), v0), f32x4.mul(v128.load(p1 + o), v1)),
        f32x4.add(f32x4.mul(v128.load(p2 + o), v2), f32x4.mul(v128.load(p3 + o), v3)),
      ));
      v128.store(y + o, a);
    }
    for (; c < cols; c++) {
      const o = <usize>c << 2;
      store<f32>(y + o, load<f32>(y + o) + ((load<f32>(p0 + o) * s0 + load<f32>(p1 + o) * s1) +
        (load<f32>(p2 + o) * s2 + load<f32>(p3 + o) * s3)));
    }
  }
  for (; r < rows; r++) {
    const p = w + <usize>r * rs;
    const s = load<f32>(x + (<usize>r << 2));
    const v = f32x4.splat(s);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const o = <usize>c << 2;
      v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(v128.load(p + o), v)));
    }
    for (; c < cols; c++) {
      const o = <usize>c << 2;
      store<f32>(y + o, load<f32>(y + o) + load<f32>(p + o) * s);
    }
  }
}
