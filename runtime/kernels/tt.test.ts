import assert from "node:assert/strict";
import { ttWorkFloats } from "./scratch.ts";
import { instantiateKernels } from "./kernels.ts";
import { type TtCores, ttDense, ttGatherF32, ttMatmatF32, ttMatvecF32 } from "./tt.ref.ts";
import { Arena, assertAllClose, randomF32, rng, SIZES } from "./testing.ts";
import { chooseModes, tensorTrainMethod, tensorTrainToDense } from "../../compiler/methods/tt.ts";
import { irMatrix } from "../../compiler/ir.ts";
import { decodeStorage } from "../../compiler/methods/storage.ts";
import { matvecF32 } from "./matvec.ref.ts";

// With the relaxed module where the engine has it: tt_matvec_f32r / tt_matmat_f32r are checked too.
const k = await instantiateKernels(undefined, true);

/** A random TT-matrix with the given modes and ranks ≤ maxRank (R_0 = R_d = 1). */
function randomTt(
  rows: number,
  cols: number,
  rowModes: number[],
  colModes: number[],
  maxRank: number,
  seed: number,
): TtCores {
  const rand = rng(seed);
  const d = rowModes.length;
  const ranks = [1, ...Array.from({ length: d - 1 }, () => 1 + Math.floor(rand(0, maxRank))), 1];
  const cores = rowModes.map((m, i) => randomF32(ranks[i] * m * colModes[i] * ranks[i + 1], rand));
  return { rows, cols, rowModes, colModes, ranks, cores };
}

/** Places a TT in the arena: its cores, the descriptor as/tt.ts reads, and the work buffers (three: the relaxed products' size). */
function place(arena: Arena, tt: TtCores) {
  const ptrs = tt.cores.map((c, i) => arena.put(c, `core ${i}`));
  const maxInter = ttWorkFloats(tt.rowModes, tt.colModes, tt.ranks);
  const desc = Int32Array.from([
    tt.rowModes.length,
    tt.rows,
    tt.cols,
    maxInter,
    ...tt.cores.flatMap((_, i) => [ptrs[i], tt.ranks[i], tt.rowModes[i], tt.colModes[i], tt.ranks[i + 1]]),
  ]);
  return { desc: arena.put(desc, "desc"), work: arena.alloc(12 * maxInter, "work") };
}

function run(tt: TtCores, seed: number, misalign = 0) {
  const rand = rng(seed);
  const x = randomF32(tt.cols, rand);
  const y0 = randomF32(tt.rows, rand);
  const n = 3;
  const xs = randomF32(n * tt.cols, rand);
  const ys0 = randomF32(n * tt.rows, rand);
  const row = Math.floor(rand(0, tt.rows));
  const arena = new Arena(k, misalign);
  const { desc, work } = place(arena, tt);
  const px = arena.put(x, "x");
  const py = arena.put(y0, "y");
  const pxs = arena.put(xs, "X");
  const pys = arena.put(ys0, "Y");
  const pout = arena.alloc(4 * tt.cols, "out");
  k.exports.tt_matvec_f32(desc, px, py, work);
  k.exports.tt_matmat_f32(desc, pxs, n, pys, work);
  k.exports.tt_gather_f32(desc, row, pout, work);
  const pyR = arena.put(y0, "y relaxed");
  const pysR = arena.put(ys0, "Y relaxed");
  k.relaxed?.tt_matvec_f32r(desc, px, pyR, work);
  k.relaxed?.tt_matmat_f32r(desc, pxs, n, pysR, work);
  arena.checkGuards();
  const w = ttDense(tt);
  const y = y0.slice();
  ttMatvecF32(tt, x, y, w);
  const ys = ys0.slice();
  ttMatmatF32(tt, xs, n, ys, w);
  const out = new Float32Array(tt.cols);
  ttGatherF32(tt, row, out);
  const what = `${tt.rows} × ${tt.cols}, modes ${tt.rowModes} × ${tt.colModes}, ranks ${tt.ranks}`;
  assertAllClose(arena.f32(py, tt.rows), y, `matvec y (${what})`, 1e-5, 1e-4);
  if (k.relaxed) {
    assertAllClose(arena.f32(pyR, tt.rows), y, `relaxed matvec y (${what})`, 1e-5, 1e-4);
    assertAllClose(arena.f32(pysR, n * tt.rows), ys, `relaxed matmat Y (${what})`, 1e-5, 1e-4);
  }
  assertAllClose(arena.f32(pys, n * tt.rows), ys, `matmat Y (${what})`, 1e-5, 1e-4);
  assertAllClose(arena.f32(pout, tt.cols), out, `gather row ${row} (${what})`, 1e-5, 1e-4);
  assert.deepEqual(arena.f32(px, tt.cols), x, "x must not change");
}

Deno.test("ttMatvecF32 (reference) equals a dense matvec of the compiler's reconstruction", () => {
  const m = irMatrix("w", 20, 14, randomF32(280, rng(3)));
  const { encoded } = tensorTrainMethod.encode(
    m,
    { kind: "tt", maxRank: 3, storage: { type: "f32" } },
    "w_ih",
  );
  assert.ok(encoded.encoding.kind === "tt");
  const e = encoded.encoding;
  const tt: TtCores = { rows: 20, cols: 14, ...e, cores: e.cores.map(decodeStorage) };
  const x = randomF32(14, rng(4));
  const y = new Float32Array(20);
  ttMatvecF32(tt, x, y);
  const dense = new Float32Array(20);
  matvecF32(tensorTrainToDense(encoded), 20, 14, x, dense);
  assertAllClose(y, dense, "y");
});

for (const rows of SIZES.filter((s) => s > 0)) {
  Deno.test(`tt_matvec/matmat/gather_f32 equal the references at rows ${rows} × every cols in SIZES (3 cores)`, () => {
    for (const cols of SIZES.filter((s) => s > 0)) {
      const rand = rng(rows * 7 + cols);
      const tt = randomTt(rows, cols, chooseModes(rows), chooseModes(cols), 4, rows * 1000 + cols);
      run(tt, Math.floor(rand(0, 1e6)));
    }
  });
}

Deno.test("tt kernels equal the references with 1, 2 and 4 cores, modes of 1, and misaligned arrays", () => {
  const cases: [number, number, number[], number[]][] = [
    [5, 7, [5], [7]],
    [12, 10, [3, 4], [5, 2]],
    [30, 17, [2, 3, 5, 1], [1, 3, 2, 3]],
    [16, 16, [2, 2, 2, 2], [2, 2, 2, 2]],
    [9, 4, [3, 1, 3], [1, 4, 1]],
    // the fast split (compiler/methods/tt.ts): P = 4 in every step, the core-row-major loop of tt_matvec_f32
    [40, 20, [10, 2, 2], [2, 2, 5]],
    // … with the relaxed outer products' eight-row passes, a remainder of rows and columns past a quad
    [212, 20, [53, 2, 2], [2, 2, 5]],
    // P = 6, 12, 15: four A rows per dot product and a remainder of 2 or 3
    [30, 24, [5, 2, 3], [3, 2, 4]],
  ];
  cases.forEach(([rows, cols, rm, cm], i) => {
    for (const misalign of [0, 4, 12]) run(randomTt(rows, cols, rm, cm, 6, 50 + i), 90 + i, misalign);
  });
});

Deno.test("tt kernels do nothing for a descriptor with 0 rows or 0 cores", () => {
  const arena = new Arena(k);
  const y = arena.put(new Float32Array([1, 2, 3]), "y");
  const work = arena.alloc(64, "work");
  const desc = arena.put(Int32Array.from([0, 3, 3, 8]), "desc");
  k.exports.tt_matvec_f32(desc, y, y, work);
  k.exports.tt_matmat_f32(desc, y, 0, y, work);
  arena.checkGuards();
  assert.deepEqual([...arena.f32(y, 3)], [1, 2, 3]);
});
