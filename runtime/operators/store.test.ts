import assert from "node:assert/strict";
import { preparedTableBytes, type QuantBits, quantizedScratchBytes } from "../kernels/scratch.ts";
import { instantiateKernels, type KernelInstance } from "../kernels/kernels.ts";
import {
  gatherQuantized,
  INT16_LEVELS,
  matmatQuantized,
  matvecQuantized,
  RELAXED_Q4_LEVELS,
  RELAXED_Q8_LEVELS,
} from "../kernels/quantized.ref.ts";
import { Arena, assertAllClose, randomF32, rng } from "../kernels/testing.ts";
import type { DenseInfo, QuantizedInfo } from "../format/read.ts";
import { storeOperator, storeScratchBytes } from "./store.ts";

const plain = await instantiateKernels(undefined, false);
const relaxed = await instantiateKernels(undefined, true);

/** A quantized leaf placed in k's memory, its operator, and helpers to run it on f32 arrays. */
function setUp(
  k: KernelInstance,
  bits: QuantBits,
  rows: number,
  cols: number,
  groupSize: number,
  seed: number,
) {
  const rand = rng(seed);
  const g = Math.min(groupSize, cols);
  const gpr = Math.ceil(cols / g);
  const data = new Uint8Array(rows * (bits === 8 ? cols : Math.ceil(cols / 2))).map(() => rand(0, 256));
  const scales = randomF32(rows * gpr, rand, 0.001, 0.1);
  const arena = new Arena(k);
  const dataOffset = arena.alloc(data.length, "codes");
  arena.bytes(dataOffset, data.length).set(data);
  const scalesOffset = arena.put(scales, "scales");
  const info: QuantizedInfo = {
    name: "w",
    rows,
    cols,
    bytes: data.length + 4 * scales.length,
    kind: "quantized",
    bits,
    groupSize,
    groupsPerRow: gpr,
    scaleType: "f32",
    scalesOffset,
    scalesCount: scales.length,
    dataOffset,
    dataLength: data.length,
  };
  const op = storeOperator(info, k, arena.alloc(storeScratchBytes(info), "scratch"));
  const product = (x: Float32Array, n?: number) => {
    const px = arena.put(x, "x");
    const py = arena.put(new Float32Array((n ?? 1) * rows), "y");
    if (n === undefined) op.matvec(px, py);
    else op.matmat(px, n, py);
    arena.checkGuards();
    return arena.f32(py, (n ?? 1) * rows);
  };
  const reference = (x: Float32Array, levels: number, n?: number) => {
    const y = new Float32Array((n ?? 1) * rows);
    if (n === undefined) matvecQuantized(bits, data, scales, rows, cols, g, x, y, levels);
    else matmatQuantized(bits, data, scales, rows, cols, g, x, n, y, levels);
    return y;
  };
  const gather = (row: number) => {
    const out = arena.alloc(4 * cols, "row");
    op.gatherRow(row, out);
    const expected = new Float32Array(cols);
    gatherQuantized(bits, data, scales, cols, g, row, expected);
    return { actual: arena.f32(out, cols), expected };
  };
  return { rand, product, reference, gather };
}

Deno.test("storeScratchBytes() adds the relaxed kernels' table: 16 bytes per row quad and group, twice for int8; int4's scales per block of four quads, its codes", () => {
  const base = {
    name: "w",
    rows: 10,
    cols: 37,
    bytes: 0,
    scaleType: "f32" as const,
    scalesOffset: 0,
    scalesCount: 0,
    dataOffset: 0,
  };
  const q = (bits: 4 | 8, groupSize: number): QuantizedInfo => ({
    ...base,
    kind: "quantized",
    bits,
    groupSize,
    groupsPerRow: Math.ceil(37 / Math.min(groupSize, 37)),
    dataLength: 0,
  });
  const x = quantizedScratchBytes(37);
  assert.equal(storeScratchBytes(q(8, 37)), x + 2 * 16 * 3);
  assert.equal(storeScratchBytes(q(8, 100)), x + 2 * 16 * 3); // group_size > cols: one group per row
  assert.equal(storeScratchBytes(q(8, 16)), x + 2 * 16 * 3 * 3);
  // int4: the scales (one block of 4 quads of rows × 2 groups × 64 bytes), then the biased copy of the codes:
  // a block of 4 quads of rows × 5 chunks of 8 columns × 16 bytes.
  assert.equal(storeScratchBytes(q(4, 32)), x + 64 * 2 + 16 * 4 * 5);
  assert.equal(preparedTableBytes(4, 0, 37, 32), 0);
});

for (const bits of [8, 4] as const) {
  const fast = bits === 8 ? RELAXED_Q8_LEVELS : RELAXED_Q4_LEVELS;
  Deno.test(`int${bits} leaf operators run the relaxed products where loaded, the int16 ones otherwise`, () => {
    if (!relaxed.relaxed) {
      console.log("this engine has no relaxed SIMD: both instances run the int16 products");
    }
    const levels = relaxed.relaxed ? fast : INT16_LEVELS;
    for (
      const [rows, cols, group] of [[13, 37, 37], [9, 200, 32], [5, 203, 6], [7, 200, 50], [6, 203, 1000]]
    ) {
      for (const [k, lv] of [[plain, INT16_LEVELS], [relaxed, levels]] as const) {
        const t = setUp(k, bits, rows, cols, group, rows + cols + bits);
        const x = randomF32(cols, t.rand);
        assertAllClose(t.product(x), t.reference(x, lv), `matvec ${rows}×${cols} g${group} levels ${lv}`);
        const xs = randomF32(5 * cols, t.rand);
        assertAllClose(t.product(xs, 5), t.reference(xs, lv, 5), `matmat ${rows}×${cols} g${group}`);
        const { actual, expected } = t.gather(rows - 1);
        assert.deepEqual(actual, expected, "gather");
      }
    }
  });

  Deno.test(`int${bits} leaf operators fall back to the exact path for x with Inf/NaN, and int4 groups of one column to int16`, () => {
    const [rows, cols] = [7, 37];
    const t = setUp(relaxed, bits, rows, cols, bits === 8 ? 37 : 32, 11);
    const x = randomF32(cols, t.rand);
    x[3] = NaN;
    assertAllClose(t.product(x), t.reference(x, INT16_LEVELS), "matvec with NaN");
    const xs = randomF32(3 * cols, t.rand);
    xs[2 * cols] = -Infinity;
    assertAllClose(t.product(xs, 3), t.reference(xs, INT16_LEVELS, 3), "matmat with −Inf");
    if (bits === 4) {
      const one = setUp(relaxed, 4, rows, cols, 1, 12); // groups of one column: no relaxed kernel
      const xo = randomF32(cols, one.rand);
      assertAllClose(one.product(xo), one.reference(xo, INT16_LEVELS), "group 1");
    }
  });
}

Deno.test("a dense f32 operator's matmatBias equals filling Y with the bias and matmat, bit for bit (plain and relaxed)", () => {
  const [rows, cols, n] = [83, 200, 9];
  for (const k of [plain, relaxed]) {
    const rand = rng(61);
    const arena = new Arena(k);
    const w = arena.put(randomF32(rows * cols, rand), "W");
    const info: DenseInfo = {
      name: "w",
      rows,
      cols,
      bytes: 4 * rows * cols,
      kind: "dense",
      floatType: "f32",
      dataOffset: w,
      dataLength: 4 * rows * cols,
    };
    const op = storeOperator(info, k, arena.alloc(storeScratchBytes(info), "scratch"));
    assert.ok(op.matmatBias, "dense f32 has matmatBias");
    const bias = randomF32(rows, rand);
    const pb = arena.put(bias, "bias");
    const px = arena.put(randomF32(n * cols, rand), "x");
    const filled = arena.put(Float32Array.from({ length: n * rows }, (_, i) => bias[i % rows]), "filled");
    op.matmat(px, n, filled);
    const set = arena.put(new Float32Array(n * rows).fill(NaN), "set");
    op.matmatBias!(px, n, set, pb);
    arena.checkGuards();
    assert.deepEqual(arena.f32(set, n * rows), arena.f32(filled, n * rows));
  }
});
