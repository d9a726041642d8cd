// The k largest values of x: (n) f32, in descending order; ties go to the smaller index first, and NaN ranks
// below −∞. out_idx: (k) i32 indices into x, out_val: (k) f32 values; k is clamped to [0, n].
// O(n log k): out_idx/out_val hold a binary min-heap of the best k so far (root = the worst of them, the
// one the next better element evicts); a final heap sort leaves them best first. No memory besides the
// outputs is used. Blocks of four values that cannot beat the root are skipped with one SIMD compare.

/** True when (va, ia) ranks strictly below (vb, ib): smaller value, or equal value and larger index. */
// @ts-ignore: decorator
@inline function worse(va: f32, ia: i32, vb: f32, ib: i32): bool {
  if (va < vb) return true;
  if (va > vb) return false;
  if (va == vb) return ia > ib;
  const aNaN = va != va; // unordered: at least one NaN, and NaN is the lowest value
  const bNaN = vb != vb;
  return aNaN && bNaN ? ia > ib : aNaN;
}

/** Restores the heap property below slot `i` of a heap of `size` entries (the worst entry at the root). */
function siftDown(idx: usize, val: usize, i: i32, size: i32): void {
  const v = load<f32>(val + (<usize>i << 2));
  const id = load<i32>(idx + (<usize>i << 2));
  while (true) {
    let child = 2 * i + 1;
    if (child >= size) break;
    let cv = load<f32>(val + (<usize>child << 2));
    let ci = load<i32>(idx + (<usize>child << 2));
    if (child + 1 < size) {
      const rv = load<f32>(val + (<usize>(child + 1) << 2));
      const ri = load<i32>(idx + (<usize>(child + 1) << 2));
      if (worse(rv, ri, cv, ci)) {
        child++;
        cv = rv;
        ci = ri;
      }
    }
    if (!worse(cv, ci, v, id)) break;
    store<f32>(val + (<usize>i << 2), cv);
    store<i32>(idx + (<usize>i << 2), ci);
    i = child;
  }
  store<f32>(val + (<usize>i << 2), v);
  store<i32>(idx + (<usize>i << 2), id);
}

export function top_k(x: usize, n: i32, k: i32, out_idx: usize, out_val: usize): void {
  if (k > n) k = n;
  if (k <= 0) return;
  for (let i = 0; i < k; i++) {
    store<f32>(out_val + (<usize>i << 2), load<f32>(x + (<usize>i << 2)));
    store<i32>(out_idx + (<usize>i << 2), i);
  }
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(out_idx, out_val, i, k);

  // A later element (larger index) displaces the root only if strictly greater, or if the root is NaN
  // and it is not.
  let root = load<f32>(out_val);
  let i = k;
  while (i < n) {
    if (i + 4 <= n && root == root) {
      const block = v128.load(x + (<usize>i << 2));
      if (!v128.any_true(f32x4.gt(block, f32x4.splat(root)))) {
        i += 4;
        continue;
      }
    }
    const v = load<f32>(x + (<usize>i << 2));
    if (v > root || (root != root && v == v)) {
      store<f32>(out_val, v);
      store<i32>(out_idx, i);
      siftDown(out_idx, out_val, 0, k);
      root = load<f32>(out_val);
    }
    i++;
  }

  // Heap sort: move the worst to the end, shrink, repeat → best first.
  for (let size = k - 1; size > 0; size--) {
    const endV = load<f32>(out_val + (<usize>size << 2));
    const endI = load<i32>(out_idx + (<usize>size << 2));
    store<f32>(out_val + (<usize>size << 2), load<f32>(out_val));
    store<i32>(out_idx + (<usize>size << 2), load<i32>(out_idx));
    store<f32>(out_val, endV);
    store<i32>(out_idx, endI);
    siftDown(out_idx, out_val, 0, size);
  }
}
