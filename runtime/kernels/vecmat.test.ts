import assert from "node:assert/strict";
import { instantiateKernels } from "./kernels.ts";
import { vecmatF32 } from "./vecmat.ref.ts";
import { Arena, assertAllClose, randomF32, rng, SIZES } from "./testing.ts";

const k = await instantiateKernels();

Deno.test("vecmatF32 (reference) adds a hand-computed xᵀ·W to y", () => {
  const y = new Float32Array([10, 20, 30]);
  vecmatF32(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3, 3, new Float32Array([1, -1]), y);
  assert.deepEqual([...y], [7, 17, 27]);
});

for (const misalign of [0, 4, 8, 12]) {
  Deno.test(`vecmat_f32 equals the reference at every rows × cols in SIZES (stride ≥ cols, misalign ${misalign})`, () => {
    for (const rows of SIZES) {
      for (const cols of SIZES) {
        const stride = cols + (rows % 3); // a column range of a wider matrix too
        const rand = rng(rows * 1000 + cols + misalign);
        const w = randomF32(Math.max(0, (rows - 1) * stride + cols), rand);
        const x = randomF32(rows, rand);
        const y0 = randomF32(cols, rand);
        const expected = y0.slice();
        vecmatF32(w, rows, cols, stride, x, expected);
        const arena = new Arena(k, misalign);
        const pw = arena.put(w, "W");
        const px = arena.put(x, "x");
        const py = arena.put(y0, "y");
        k.exports.vecmat_f32(pw, rows, cols, stride, px, py);
        arena.checkGuards();
        assertAllClose(arena.f32(py, cols), expected, `y (${rows} × ${cols})`);
        assert.deepEqual(arena.f32(px, rows), x, "x must not change");
      }
    }
  });
}
