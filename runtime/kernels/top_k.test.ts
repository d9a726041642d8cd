import assert from "node:assert/strict";
import { instantiateKernels } from "./kernels.ts";
import { topK } from "./top_k.ref.ts";
import { Arena, randomF32, rng, SIZES } from "./testing.ts";

const k = await instantiateKernels();

/** The specification, by sorting: value descending, NaN last, ties by smaller index. */
function topKBySort(x: Float32Array, kk: number): [number[], number[]] {
  const order = [...x.keys()].sort((a, b) => {
    const va = x[a], vb = x[b];
    if (Number.isNaN(va) || Number.isNaN(vb)) {
      return Number(Number.isNaN(va)) - Number(Number.isNaN(vb)) || a - b;
    }
    return vb - va || a - b; // ±0 compare equal, as in the kernel
  }).slice(0, Math.max(0, Math.min(kk, x.length)));
  return [order, order.map((i) => x[i])];
}

function runRef(x: Float32Array, kk: number): [number[], number[]] {
  const m = Math.max(0, Math.min(kk, x.length));
  const idx = new Int32Array(m);
  const val = new Float32Array(m);
  topK(x, x.length, kk, idx, val);
  return [[...idx], [...val]];
}

function runWasm(x: Float32Array, kk: number): [number[], number[]] {
  const m = Math.max(0, Math.min(kk, x.length));
  const arena = new Arena(k);
  const px = arena.put(x, "x");
  const pi = arena.alloc(4 * m, "out_idx");
  const pv = arena.alloc(4 * m, "out_val");
  k.exports.top_k(px, x.length, kk, pi, pv);
  arena.checkGuards();
  assert.deepEqual(arena.f32(px, x.length), x, "x must not change");
  return [[...arena.i32(pi, m)], [...arena.f32(pv, m)]];
}

Deno.test("topK (reference) picks [1, 3] from [3, 9, 1, 9] with k = 2 (ties: smaller index first)", () => {
  assert.deepEqual(runRef(new Float32Array([3, 9, 1, 9]), 2), [[1, 3], [9, 9]]);
  assert.deepEqual(runRef(new Float32Array([3, 9, 1, 9]), 4), [[1, 3, 0, 2], [9, 9, 3, 1]]);
});

for (const n of SIZES) {
  Deno.test(`top_k equals the reference and the sort-based definition at n = ${n} for every k ≤ n`, () => {
    const rand = rng(n + 400);
    const distinct = randomF32(n, rand);
    const tied = distinct.map((v) => Math.round(v * 2)); // 5 levels: many ties
    for (const x of [distinct, tied]) {
      for (const kk of SIZES.filter((s) => s <= n)) {
        const expected = topKBySort(x, kk);
        assert.deepEqual(runRef(x, kk), expected, `reference, k = ${kk}`);
        assert.deepEqual(runWasm(x, kk), expected, `wasm, k = ${kk}`);
      }
    }
  });
}

Deno.test("top_k at n = 10000 with k = 1, 10, 200 equals the sort-based definition", () => {
  const x = randomF32(10000, rng(401), -10, 10);
  for (const kk of [1, 10, 200]) assert.deepEqual(runWasm(x, kk), topKBySort(x, kk), `k = ${kk}`);
});

Deno.test("top_k ranks NaN below −Infinity and +Infinity first, like the reference", () => {
  const x = new Float32Array([NaN, 1, -Infinity, NaN, Infinity, 2, 0, -0, NaN, 5, -1]);
  for (let kk = 0; kk <= x.length; kk++) {
    const expected = topKBySort(x, kk);
    assert.deepEqual(runRef(x, kk), expected, `reference, k = ${kk}`);
    assert.deepEqual(runWasm(x, kk), expected, `wasm, k = ${kk}`);
  }
});

Deno.test("top_k clamps k > n to n and writes nothing for k ≤ 0", () => {
  const x = new Float32Array([1, 3, 2]);
  assert.deepEqual(runWasm(x, 5), [[1, 2, 0], [3, 2, 1]]);
  assert.deepEqual(runRef(x, 5), [[1, 2, 0], [3, 2, 1]]);
  assert.deepEqual(runWasm(x, 0), [[], []]);
  assert.deepEqual(runWasm(x, -1), [[], []]);
});
