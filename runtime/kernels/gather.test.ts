import assert from "node:assert/strict";
import { f16BitsToF32, f32ToF16Bits } from "../format/f16.ts";
import { gatherF16, gatherF32 } from "./gather.ref.ts";
import { instantiateKernels } from "./kernels.ts";
import { Arena, randomF16, randomF32, rng, SIZES } from "./testing.ts";

const k = await instantiateKernels();

Deno.test("gatherF32 and gatherF16 (references) copy row 1 of a hand-written 2 × 3 matrix", () => {
  const out = new Float32Array(3);
  gatherF32(new Float32Array([1, 2, 3, 4, 5, 6]), 3, 1, out);
  assert.deepEqual([...out], [4, 5, 6]);
  gatherF16(Uint16Array.from([1, 2, 3, -4, 0.5, 65504], f32ToF16Bits), 3, 1, out);
  assert.deepEqual([...out], [-4, 0.5, 65504]);
});

const ROWS = 3;

for (const kind of ["f32", "f16"] as const) {
  for (const cols of SIZES) {
    Deno.test(`gather_${kind} equals the reference for every row of a ${ROWS} × ${cols} matrix`, () => {
      const rand = rng(cols + 100);
      const w = kind === "f32" ? randomF32(ROWS * cols, rand) : randomF16(ROWS * cols, rand, -70000, 70000);
      for (const misalign of kind === "f32" ? [0, 4] : [0, 2, 6]) {
        for (let row = 0; row < ROWS; row++) {
          const arena = new Arena(k, misalign);
          const pw = arena.put(w, "W");
          const pout = arena.alloc(cols * 4, "out");
          if (kind === "f32") k.exports.gather_f32(pw, cols, row, pout);
          else k.exports.gather_f16(pw, cols, row, pout);
          arena.checkGuards();
          const expected = new Float32Array(cols);
          if (w instanceof Float32Array) gatherF32(w, cols, row, expected);
          else gatherF16(w, cols, row, expected);
          assert.deepEqual(arena.f32(pout, cols), expected, `row ${row}, misaligned ${misalign}`);
        }
      }
    });
  }
}

Deno.test("gather_f16 decodes all 65 536 half bit patterns exactly as f16BitsToF32 does", () => {
  const w = new Uint16Array(65536).map((_, i) => i);
  const arena = new Arena(k);
  const pw = arena.put(w, "W");
  const pout = arena.alloc(65536 * 4, "out");
  k.exports.gather_f16(pw, 65536, 0, pout);
  arena.checkGuards();
  const out = arena.f32(pout, 65536);
  for (let bits = 0; bits < 65536; bits++) {
    const expected = f16BitsToF32(bits);
    if (!Object.is(out[bits], expected) && !(Number.isNaN(expected) && Number.isNaN(out[bits]))) {
      assert.fail(`0x${bits.toString(16)}: expected ${expected}, found ${out[bits]}`);
    }
  }
});
