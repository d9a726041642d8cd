import assert from "node:assert/strict";
import { f32ToF16Bits } from "../format/f16.ts";
import { ensureMemory, instantiateKernels } from "./kernels.ts";
import { matmatF16, matmatF32 } from "./matmat.ref.ts";
import { matvecF32 } from "./matvec.ref.ts";
import { f16ScratchBytes } from "./scratch.ts";
import { Arena, assertAllClose, randomF16, randomF32, rng, SIZES } from "./testing.ts";

const k = await instantiateKernels();
// matmat_f32r (the relaxed module's matmat_f32, fused multiply-adds) where this engine has relaxed SIMD.
const F32_KINDS = k.relaxed ? ["f32", "f32r"] as const : ["f32"] as const;
if (!k.relaxed) console.log("matmat.test.ts: no relaxed SIMD here; matmat_f32r not tested");

Deno.test("matmatF32 (reference) adds a hand-computed 2 × 3 product for 2 timesteps to Y", () => {
  // W = [[1, 2, 3], [4, 5, 6]]; X = [[1, 0, 0], [0, 0, 1]] → Y += [[1, 4], [3, 6]]
  const y = new Float32Array([1, 1, 2, 2]);
  matmatF32(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3, new Float32Array([1, 0, 0, 0, 0, 1]), 2, y);
  assert.deepEqual([...y], [2, 5, 5, 8]);
});

Deno.test("matmatF16 (reference) adds a hand-computed 2 × 3 product for 2 timesteps to Y", () => {
  const y = new Float32Array([1, 1, 2, 2]);
  const w = Uint16Array.from([1, 2, 3, 4, 5, 6], f32ToF16Bits);
  matmatF16(w, 2, 3, new Float32Array([1, 0, 0, 0, 0.5, 1]), 2, y);
  assert.deepEqual([...y], [2, 5, 2 + 1 + 3, 2 + 2.5 + 6]);
});

Deno.test("matmatF32 (reference) equals one matvecF32 per timestep", () => {
  const rand = rng(11);
  const [rows, cols, n] = [5, 7, 3];
  const w = randomF32(rows * cols, rand);
  const x = randomF32(n * cols, rand);
  const y = randomF32(n * rows, rand);
  const expected = y.slice();
  for (let t = 0; t < n; t++) {
    matvecF32(
      w,
      rows,
      cols,
      x.subarray(t * cols, (t + 1) * cols),
      expected.subarray(t * rows, (t + 1) * rows),
    );
  }
  matmatF32(w, rows, cols, x, n, y);
  assertAllClose(y, expected, "Y");
});

/** Runs the kernel on fresh guarded copies and returns Y; Y starts non-zero, so accumulation is checked. */
function runMatmat(
  kind: "f32" | "f32r" | "f16" | "f16r",
  w: Float32Array | Uint16Array,
  rows: number,
  cols: number,
  x: Float32Array,
  n: number,
  y0: Float32Array,
  misalign = 0,
  path: "exact" | "fast" = "fast",
): Float32Array {
  const arena = new Arena(k, misalign);
  const pw = arena.put(w, "W");
  const px = arena.put(x, "X");
  const py = arena.put(y0, "Y");
  if (kind === "f32") k.exports.matmat_f32(pw, rows, cols, px, n, py);
  else if (kind === "f32r") k.relaxed!.matmat_f32r(pw, rows, cols, px, n, py);
  else if (kind === "f16r") {
    const scratch = arena.alloc(f16ScratchBytes(cols), "scratch");
    assert.equal(k.relaxed!.matmat_f16r(pw, rows, cols, px, n, py, scratch), 1, "matmat_f16r ran");
  } else if (path === "exact") k.exports.matmat_f16(pw, rows, cols, px, n, py, 0, 0);
  else {
    const scratch = arena.alloc(f16ScratchBytes(cols), "scratch");
    k.exports.matmat_f16(pw, rows, cols, px, n, py, scratch, k.exports.f16_finite(pw, rows * cols));
  }
  arena.checkGuards();
  assert.deepEqual(arena.f32(px, n * cols), x, "X must not change");
  return arena.f32(py, n * rows);
}

/** The two f16 paths (exact; fast with x prepared in scratch), as in matvec.test.ts. */
const F16_PATHS = ["exact", "fast"] as const;

// matmat_f16r (the relaxed module's matmat_f16 fast path, fused multiply-adds) where this engine has it.
const F16_KINDS = k.relaxed ? ["f16", "f16r"] as const : ["f16"] as const;

for (const kind of [...F32_KINDS, ...F16_KINDS]) {
  for (const rows of SIZES) {
    for (const cols of SIZES) {
      Deno.test(`matmat_${kind} equals the reference at rows × cols ${rows} × ${cols} for n = ${SIZES.join(", ")}`, () => {
        const f16 = kind === "f16" || kind === "f16r";
        const rand = rng(rows * 1000 + cols + (f16 ? 5 : 0));
        const w = f16 ? randomF16(rows * cols, rand) : randomF32(rows * cols, rand);
        for (const n of SIZES) {
          const x = randomF32(n * cols, rand);
          const y0 = randomF32(n * rows, rand);
          const expected = y0.slice();
          if (w instanceof Float32Array) matmatF32(w, rows, cols, x, n, expected);
          else matmatF16(w, rows, cols, x, n, expected);
          for (const path of kind === "f16" ? F16_PATHS : ["fast"] as const) {
            assertAllClose(
              runMatmat(kind, w, rows, cols, x, n, y0, 0, path),
              expected,
              `Y (n = ${n}, ${path})`,
            );
          }
        }
      });
    }
  }
}

Deno.test("matmat_f32 and matmat_f16 work on pointers that are not 16-byte aligned", () => {
  const rand = rng(12);
  const [rows, cols, n] = [5, 37, 7];
  const x = randomF32(n * cols, rand);
  const y0 = randomF32(n * rows, rand);
  const w32 = randomF32(rows * cols, rand);
  const w16 = randomF16(rows * cols, rand);
  const e32 = y0.slice();
  matmatF32(w32, rows, cols, x, n, e32);
  const e16 = y0.slice();
  matmatF16(w16, rows, cols, x, n, e16);
  for (const kind of F32_KINDS) {
    for (const misalign of [4, 8, 12]) {
      assertAllClose(
        runMatmat(kind, w32, rows, cols, x, n, y0, misalign),
        e32,
        `Y (${kind}, misaligned ${misalign})`,
      );
    }
  }
  for (const misalign of [2, 6, 10]) {
    for (const path of F16_PATHS) {
      assertAllClose(
        runMatmat("f16", w16, rows, cols, x, n, y0, misalign, path),
        e16,
        `Y (f16 ${path}, misaligned ${misalign})`,
      );
    }
    if (k.relaxed) {
      assertAllClose(
        runMatmat("f16r", w16, rows, cols, x, n, y0, misalign),
        e16,
        `Y (f16r, misaligned ${misalign})`,
      );
    }
  }
});

Deno.test({
  name: "matmat_f16r refuses x it cannot prepare (|x| ≥ 2^15, Inf, NaN, tail columns too), writing nothing",
  ignore: !k.relaxed,
  fn: () => {
    const [rows, cols, n] = [3, 21, 5];
    const w = randomF16(rows * cols, rng(21));
    for (
      const [at, bad] of [[2 * cols + 4, 40000], [4 * cols + 20, Infinity], [cols + 17, NaN], [0, -32768]]
    ) {
      const arena = new Arena(k);
      const x = randomF32(n * cols, rng(22));
      x[at] = bad;
      const y0 = randomF32(n * rows, rng(23));
      const py = arena.put(y0, "Y");
      const ok = k.relaxed!.matmat_f16r(
        arena.put(w, "W"),
        rows,
        cols,
        arena.put(x, "X"),
        n,
        py,
        arena.alloc(f16ScratchBytes(cols), "scratch"),
      );
      assert.equal(ok, 0, `x[${at}] = ${bad}`);
      assert.deepEqual(arena.f32(py, n * rows), y0, `Y unchanged (x[${at}] = ${bad})`);
      arena.checkGuards();
    }
  },
});

Deno.test("matmat_f16 and matmat_f16r read no byte past W (W ending at the end of memory, an odd row count)", () => {
  // The two-row passes pair an odd last row with itself; reading a row past W would trap here.
  const [rows, cols, n] = [3, 24, 5];
  const rand = rng(31);
  const w = randomF16(rows * cols, rand);
  const x = randomF32(n * cols, rand);
  const expected = new Float32Array(n * rows);
  matmatF16(w, rows, cols, x, n, expected);
  const arena = new Arena(k);
  const px = arena.put(x, "X");
  const scratch = arena.alloc(f16ScratchBytes(cols), "scratch");
  const py = arena.alloc(4 * n * rows, "Y");
  ensureMemory(k, arena.alloc(0, "end") + 2 * rows * cols + 64);
  const pw = k.memory.buffer.byteLength - 2 * rows * cols;
  new Uint16Array(k.memory.buffer, pw, rows * cols).set(w);
  const kinds = k.relaxed ? ["f16", "f16r"] : ["f16"];
  for (const kind of kinds) {
    new Float32Array(k.memory.buffer, py, n * rows).fill(0);
    if (kind === "f16") k.exports.matmat_f16(pw, rows, cols, px, n, py, scratch, 1);
    else assert.equal(k.relaxed!.matmat_f16r(pw, rows, cols, px, n, py, scratch), 1);
    assertAllClose(new Float32Array(k.memory.buffer, py, n * rows).slice(), expected, `Y (${kind})`);
  }
});

Deno.test("matmat_f16 gives Inf and NaN weights the reference's results", () => {
  const [rows, cols, n] = [3, 21, 6];
  const w = randomF16(rows * cols, rng(13));
  w[0 * cols + 3] = 0x7c00; // +Inf in the 8-wide part
  w[1 * cols + 18] = 0x7e00; // NaN in the 4-wide part
  w[2 * cols + 20] = 0xfc00; // −Inf in the scalar tail
  const x = randomF32(n * cols, rng(14), 0.5, 1);
  const y0 = new Float32Array(n * rows);
  const expected = y0.slice();
  matmatF16(w, rows, cols, x, n, expected);
  for (const path of F16_PATHS) {
    assertAllClose(runMatmat("f16", w, rows, cols, x, n, y0, 0, path), expected, `Y (${path})`);
  }
});

Deno.test("matmat_f16's fast path runs a block of timesteps exactly when one of them has |x| ≥ 2^15", () => {
  const [rows, cols, n] = [5, 21, 9];
  const w = randomF16(rows * cols, rng(15));
  const x = randomF32(n * cols, rng(16));
  x[5 * cols + 2] = 40000; // timestep 5: the second block of four runs exactly, the others fast
  const expected = new Float32Array(n * rows);
  matmatF16(w, rows, cols, x, n, expected);
  assertAllClose(runMatmat("f16", w, rows, cols, x, n, new Float32Array(n * rows)), expected, "Y");
});

Deno.test("matmat_f16 takes rows in cache blocks: rows longer than a block, short last blocks, an odd last row", () => {
  // 32 KiB of W's halves per block, an even number of rows: cols 20000 (40 kB a row) → blocks of two rows,
  // so 3 rows are a block of two and one of one; cols 2400 → 6 rows a block, 7 rows six and one; cols 200 →
  // 80 rows a block, 83 rows 80 and three.
  for (const [rows, cols, n] of [[3, 20000, 5], [7, 2400, 6], [83, 200, 9]]) {
    const rand = rng(rows + cols + 1);
    const w = randomF16(rows * cols, rand, 0, 1);
    const x = randomF32(n * cols, rand, 0, 1);
    const y0 = randomF32(n * rows, rand);
    const expected = y0.slice();
    matmatF16(w, rows, cols, x, n, expected);
    for (const kind of F16_KINDS) {
      for (const path of kind === "f16" ? F16_PATHS : ["fast"] as const) {
        assertAllClose(
          runMatmat(kind, w, rows, cols, x, n, y0, 0, path),
          expected,
          `Y (${kind} ${path}, ${rows} × ${cols})`,
        );
      }
    }
  }
});

Deno.test("matmat_f32 takes rows in cache blocks: rows longer than a block, blocks of two rows, odd last block", () => {
  // 32 KiB of W per block: cols 9000 (36 kB a row) → blocks of two rows; cols 200 → 40 rows a block, so
  // 83 rows are three blocks, the last of three rows.
  for (const [rows, cols, n] of [[5, 9000, 6], [83, 200, 9]]) {
    const rand = rng(rows + cols);
    // Positive operands: 9000-term sums without cancellation, so the f32 rounding stays within RTOL of Y.
    const w = randomF32(rows * cols, rand, 0, 1);
    const x = randomF32(n * cols, rand, 0, 1);
    const y0 = randomF32(n * rows, rand);
    const expected = y0.slice();
    matmatF32(w, rows, cols, x, n, expected);
    for (const kind of F32_KINDS) {
      assertAllClose(runMatmat(kind, w, rows, cols, x, n, y0), expected, `Y (${kind}, ${rows} × ${cols})`);
    }
  }
});

/**
 * matmat_f32_bias (or its relaxed copy) on fresh guarded copies, Y starting as NaN (so a kernel that read Y
 * would show it); bias undefined passes pointer 0.
 */
function runMatmatBias(
  relaxed: boolean,
  w: Float32Array,
  rows: number,
  cols: number,
  x: Float32Array,
  n: number,
  bias?: Float32Array,
): Float32Array {
  const arena = new Arena(k);
  const pw = arena.put(w, "W");
  const px = arena.put(x, "X");
  const pb = bias ? arena.put(bias, "bias") : 0;
  const py = arena.put(new Float32Array(n * rows).fill(NaN), "Y");
  if (relaxed) k.relaxed!.matmat_f32_bias_r(pw, rows, cols, px, n, py, pb);
  else k.exports.matmat_f32_bias(pw, rows, cols, px, n, py, pb);
  arena.checkGuards();
  assert.deepEqual(arena.f32(px, n * cols), x, "X must not change");
  if (bias) assert.deepEqual(arena.f32(pb, rows), bias, "bias must not change");
  return arena.f32(py, n * rows);
}

for (const kind of F32_KINDS) {
  Deno.test(`${kind === "f32" ? "matmat_f32_bias" : "matmat_f32_bias_r"} sets Y to bias + X·Wᵀ without reading Y, with and without a bias`, () => {
    // The sizes grid, and 83 × 200 (three cache blocks, the last of three rows).
    for (const [rows, cols] of [...SIZES.flatMap((r) => SIZES.map((c) => [r, c])), [83, 200]]) {
      const rand = rng(rows * 1000 + cols + 31);
      const w = randomF32(rows * cols, rand);
      const bias = randomF32(rows, rand);
      for (const n of [0, 1, 3, 4, 5, 9]) {
        const x = randomF32(n * cols, rand);
        const withBias = Float32Array.from({ length: n * rows }, (_, i) => bias[i % Math.max(rows, 1)]);
        matmatF32(w, rows, cols, x, n, withBias);
        const noBias = new Float32Array(n * rows);
        matmatF32(w, rows, cols, x, n, noBias);
        const what = `${rows} × ${cols}, n ${n}`;
        assertAllClose(
          runMatmatBias(kind === "f32r", w, rows, cols, x, n, bias),
          withBias,
          `Y (${what}, bias)`,
        );
        assertAllClose(runMatmatBias(kind === "f32r", w, rows, cols, x, n), noBias, `Y (${what}, no bias)`);
      }
    }
  });
}
