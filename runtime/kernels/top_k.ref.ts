/**
 * Reference (for the tests) top-k — same semantics as `top_k` in as/top_k.ts, by the same
 * O(n log k) min-heap kept in the output arrays.
 * @module
 */

/** True when (va, ia) ranks strictly below (vb, ib): smaller value, equal value and larger index, NaN lowest. */
function worse(va: number, ia: number, vb: number, ib: number): boolean {
  if (va < vb) return true;
  if (va > vb) return false;
  if (va === vb) return ia > ib;
  const aNaN = va !== va;
  return aNaN && vb !== vb ? ia > ib : aNaN;
}

function siftDown(idx: Int32Array, val: Float32Array, i: number, size: number): void {
  const v = val[i];
  const id = idx[i];
  for (;;) {
    let child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && worse(val[child + 1], idx[child + 1], val[child], idx[child])) child++;
    if (!worse(val[child], idx[child], v, id)) break;
    val[i] = val[child];
    idx[i] = idx[child];
    i = child;
  }
  val[i] = v;
  idx[i] = id;
}

/**
 * The k largest of x[0..n) in descending order (ties: smaller index first; NaN ranks below −∞) into
 * outIdx[0..k) / outVal[0..k); k is clamped to [0, n].
 *
 * @example
 * ```ts
 * const idx = new Int32Array(2), val = new Float32Array(2);
 * topK(new Float32Array([3, 9, 1, 9]), 4, 2, idx, val); // idx = [1, 3], val = [9, 9]
 * ```
 */
export function topK(x: Float32Array, n: number, k: number, outIdx: Int32Array, outVal: Float32Array): void {
  k = Math.min(k, n);
  if (k <= 0) return;
  for (let i = 0; i < k; i++) {
    outVal[i] = x[i];
    outIdx[i] = i;
  }
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(outIdx, outVal, i, k);
  let root = outVal[0];
  for (let i = k; i < n; i++) {
    const v = x[i];
    if (v > root || (root !== root && v === v)) {
      outVal[0] = v;
      outIdx[0] = i;
      siftDown(outIdx, outVal, 0, k);
      root = outVal[0];
    }
  }
  for (let size = k - 1; size > 0; size--) {
    const v = outVal[size];
    const id = outIdx[size];
    outVal[size] = outVal[0];
    outIdx[size] = outIdx[0];
    outVal[0] = v;
    outIdx[0] = id;
    siftDown(outIdx, outVal, 0, size);
  }
}
