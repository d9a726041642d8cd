import assert from "node:assert/strict";
import { f32ToF16Bits } from "../format/f16.ts";
import { instantiateKernels } from "./kernels.ts";
import { matvecF16, matvecF32 } from "./matvec.ref.ts";
import { f16InterleavedBytes, f16ScratchBytes } from "./scratch.ts";
import { Arena, assertAllClose, randomF16, randomF32, rng, SIZES } from "./testing.ts";

const k = await instantiateKernels();
const f16 = (a: number[]) => Uint16Array.from(a, f32ToF16Bits);

Deno.test("matvecF32 (reference) adds a hand-computed 2 × 3 product to y", () => {
  const y = new Float32Array([10, 20]);
  matvecF32(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3, new Float32Array([1, 0.5, -1]), y);
  assert.deepEqual([...y], [10 + 1 + 1 - 3, 20 + 4 + 2.5 - 6]);
});

Deno.test("matvecF16 (reference) adds a hand-computed 2 × 3 product to y", () => {
  const y = new Float32Array([10, 20]);
  matvecF16(f16([1, 2, 3, 4, 5, 6]), 2, 3, new Float32Array([1, 0.5, -1]), y);
  assert.deepEqual([...y], [9, 20.5]);
});

/**
 * f16 products run three ways: "exact" (no scratch: every half decoded exactly, Inf/NaN included), "fast"
 * (x prepared in scratch, taken when f16_finite says the weights have no Inf/NaN) and "interleaved" (the
 * fast path reading the rows from f16_interleave's copy).
 */
const F16_PATHS = ["exact", "fast", "interleaved"] as const;

/** Runs the kernel on fresh guarded copies and returns y; y starts non-zero, so accumulation is checked. */
function runMatvec(
  kind: "f32" | "f16",
  w: Float32Array | Uint16Array,
  rows: number,
  cols: number,
  x: Float32Array,
  y0: Float32Array,
  misalign = 0,
  path: (typeof F16_PATHS)[number] = "fast",
) {
  const arena = new Arena(k, misalign);
  const pw = arena.put(w, "W");
  const px = arena.put(x, "x");
  const py = arena.put(y0, "y");
  if (kind === "f32") k.exports.matvec_f32(pw, rows, cols, px, py);
  else if (path === "exact") k.exports.matvec_f16(pw, rows, cols, px, py, 0, 0);
  else {
    const scratch = arena.alloc(f16ScratchBytes(cols), "scratch");
    let copy = 0;
    if (path === "interleaved") {
      copy = arena.alloc(f16InterleavedBytes(rows, cols), "copy");
      k.exports.f16_interleave(pw, rows, cols, copy);
    }
    k.exports.matvec_f16(pw, rows, cols, px, py, scratch, k.exports.f16_finite(pw, rows * cols), copy);
  }
  arena.checkGuards();
  assert.deepEqual(arena.f32(px, cols), x, "x must not change");
  return arena.f32(py, rows);
}

for (const rows of SIZES) {
  for (const cols of SIZES) {
    Deno.test(`matvec_f32 equals the reference at rows × cols ${rows} × ${cols}`, () => {
      const rand = rng(rows * 1000 + cols);
      const w = randomF32(rows * cols, rand);
      const x = randomF32(cols, rand);
      const y0 = randomF32(rows, rand);
      const expected = y0.slice();
      matvecF32(w, rows, cols, x, expected);
      assertAllClose(runMatvec("f32", w, rows, cols, x, y0), expected, "y");
    });
    Deno.test(`matvec_f16 equals the reference at rows × cols ${rows} × ${cols}`, () => {
      const rand = rng(rows * 1000 + cols + 7);
      const w = randomF16(rows * cols, rand);
      const x = randomF32(cols, rand);
      const y0 = randomF32(rows, rand);
      const expected = y0.slice();
      matvecF16(w, rows, cols, x, expected);
      for (const path of F16_PATHS) {
        assertAllClose(runMatvec("f16", w, rows, cols, x, y0, 0, path), expected, `y (${path})`);
      }
      // The copy holds the same halves, summed in the same order: the same floats to the bit.
      assert.deepEqual(
        runMatvec("f16", w, rows, cols, x, y0, 3, "interleaved"),
        runMatvec("f16", w, rows, cols, x, y0, 0, "fast"),
      );
    });
  }
}

Deno.test("f16_interleave writes whole quads of rows, 8 columns per 16-byte slot, and nothing past its size", () => {
  for (const [rows, cols] of [[4, 8], [9, 203], [7, 16], [3, 40], [8, 5], [12, 200]]) {
    const w = Uint16Array.from({ length: rows * cols }, (_, i) => i + 1);
    const arena = new Arena(k, 2);
    const pw = arena.put(w, "W");
    const bytes = f16InterleavedBytes(rows, cols);
    const out = arena.alloc(bytes, "copy");
    k.exports.f16_interleave(pw, rows, cols, out);
    arena.checkGuards();
    const chunks = Math.floor(cols / 8);
    const expected = new Uint16Array(bytes / 2);
    for (let r = 0; r < rows - rows % 4; r++) {
      for (let c = 0; c < 8 * chunks; c++) {
        expected[(Math.floor(r / 4) * chunks + Math.floor(c / 8)) * 32 + 8 * (r % 4) + c % 8] =
          w[r * cols + c];
      }
    }
    assert.equal(bytes, 64 * Math.floor(rows / 4) * chunks, `${rows}×${cols}: size`);
    assert.deepEqual(new Uint16Array(arena.bytes(out, bytes).slice().buffer), expected, `${rows}×${cols}`);
  }
});

// Matrices of ≥ 2^16 elements take the one-row-at-a-time path (matvec.ts): odd column counts for its
// 16/4/1-element tails, and misaligned rows; 800 × 200 is an LSTM matrix of PTB-small.
for (
  const [rows, cols, misalign] of [[323, 203, 0], [512, 128, 0], [65539, 1, 0], [1237, 53, 4], [800, 200, 0]]
) {
  Deno.test(`matvec_f32 equals the reference on a large ${rows} × ${cols} matrix (row-streaming path)`, () => {
    const rand = rng(rows + cols);
    const w = randomF32(rows * cols, rand);
    const x = randomF32(cols, rand);
    const y0 = randomF32(rows, rand);
    const expected = y0.slice();
    matvecF32(w, rows, cols, x, expected);
    assertAllClose(runMatvec("f32", w, rows, cols, x, y0, misalign), expected, "y");
  });
}

Deno.test("matvec_f32 and matvec_f16 accumulate into y rather than overwrite it", () => {
  const rand = rng(1);
  const [rows, cols] = [37, 203];
  const x = randomF32(cols, rand);
  for (const w of [randomF32(rows * cols, rand), randomF16(rows * cols, rand)]) {
    const arena = new Arena(k);
    const pw = arena.put(w, "W");
    const px = arena.put(x, "x");
    const py = arena.put(new Float32Array(rows), "y");
    const scratch = arena.alloc(f16ScratchBytes(cols), "scratch");
    const kernel = w instanceof Float32Array
      ? () => k.exports.matvec_f32(pw, rows, cols, px, py)
      : () => k.exports.matvec_f16(pw, rows, cols, px, py, scratch, 1);
    kernel();
    const once = arena.f32(py, rows);
    kernel();
    assertAllClose(arena.f32(py, rows), once.map((v) => 2 * v), "y after two calls");
    arena.checkGuards();
  }
});

Deno.test("matvec_f32 and matvec_f16 work on pointers that are not 16-byte aligned", () => {
  const rand = rng(2);
  const [rows, cols] = [37, 203];
  const x = randomF32(cols, rand);
  const y0 = randomF32(rows, rand);
  const w32 = randomF32(rows * cols, rand);
  const w16 = randomF16(rows * cols, rand);
  for (const misalign of [2, 4, 6, 12]) {
    const e32 = y0.slice();
    matvecF32(w32, rows, cols, x, e32);
    assertAllClose(
      runMatvec("f32", w32, rows, cols, x, y0, misalign & ~3),
      e32,
      `y (f32, misaligned ${misalign & ~3})`,
    );
    const e16 = y0.slice();
    matvecF16(w16, rows, cols, x, e16);
    for (const path of F16_PATHS) {
      assertAllClose(
        runMatvec("f16", w16, rows, cols, x, y0, misalign, path),
        e16,
        `y (f16 ${path}, misaligned ${misalign})`,
      );
    }
  }
});

Deno.test("matvec_f16 gives Inf and NaN weights the reference's results, and subnormal weights exactly", () => {
  const [rows, cols] = [9, 21]; // both the 8-wide, 4-wide and scalar column paths, and a 4-row block + tail
  for (
    const [r, c, bits] of [[1, 2, 0x7c00], [3, 9, 0xfc00], [5, 17, 0x7e00], [6, 20, 0x7c00], [8, 0, 0x0001]]
  ) {
    const w = randomF16(rows * cols, rng(r * 31 + c));
    w[r * cols + c] = bits;
    const x = randomF32(cols, rng(3), 0.5, 1);
    const y0 = new Float32Array(rows);
    const expected = y0.slice();
    matvecF16(w, rows, cols, x, expected);
    for (const path of F16_PATHS) {
      assertAllClose(
        runMatvec("f16", w, rows, cols, x, y0, 0, path),
        expected,
        `y (${path}) with 0x${bits.toString(16)} at (${r}, ${c})`,
      );
    }
  }
});

Deno.test("f16_finite() finds an Inf or NaN half anywhere, also in the scalar tail", () => {
  for (const n of [1, 7, 8, 9, 203]) {
    const arena = new Arena(k);
    const w = randomF16(n, rng(n));
    w[Math.floor(n / 3)] = 0x0001; // a subnormal is finite
    const p = arena.put(w, "w");
    assert.equal(k.exports.f16_finite(p, n), 1, `n ${n}`);
    for (const at of [0, n - 1]) {
      for (const bits of [0x7c00, 0xfc00, 0x7e01]) {
        const bad = w.slice();
        bad[at] = bits;
        assert.equal(
          k.exports.f16_finite(arena.put(bad, "bad"), n),
          0,
          `0x${bits.toString(16)} at ${at} of ${n}`,
        );
      }
    }
    arena.checkGuards();
  }
});

Deno.test("matvec_f16's fast path falls back to the exact one for |x| ≥ 2^15 and for Inf/NaN in x", () => {
  const [rows, cols] = [9, 21];
  const w = randomF16(rows * cols, rng(4));
  for (const big of [32768, 1e30, Infinity, NaN]) {
    const x = randomF32(cols, rng(5));
    x[3] = big;
    const expected = new Float32Array(rows);
    matvecF16(w, rows, cols, x, expected);
    assertAllClose(runMatvec("f16", w, rows, cols, x, new Float32Array(rows)), expected, `x[3] = ${big}`);
  }
});
