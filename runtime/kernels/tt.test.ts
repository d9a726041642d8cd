import assert from "node:assert/strict";
import { ttWorkFloats } from "./scratch.ts";
import { instantiateKernels } from "./kernels.ts";
import {
  ttCore0Input,
  ttCore0Q8,
  type TtCores,
  ttDense,
  ttGatherF32,
  ttMatmatF32,
  ttMatvecF32,
} from "./tt.ref.ts";
import { quantizeActivations, RELAXED_Q8_LEVELS } from "./quantized.ref.ts";
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

// ---- tt_matvec_q8r / tt_matmat_q8r: core 0's step on its int8 codes (relaxed module) ----

/**
 * A TT whose core 0 is int8 codes with one scale per core row (m_0 rows of L = n_0·R_1), the descriptor's
 * core 0 their f32 decoding (codes · scale, what the operator's decoded copy holds). `integer`: cores 1 … and
 * x small integers, so that core 0's step input A is exact in f32 whatever the order of the kernel's sums.
 */
function int8Core0Tt(
  rows: number,
  cols: number,
  rowModes: number[],
  colModes: number[],
  ranks: number[],
  seed: number,
  integer: boolean,
) {
  const rand = rng(seed);
  const int = (lo: number, hi: number) => Math.floor(rand(lo, hi + 1));
  const L = colModes[0] * ranks[1];
  const m0 = rowModes[0];
  const codes = Int8Array.from({ length: m0 * L }, () => int(-127, 127));
  codes[0] = -128; // the format allows it: the i16 pairs still fit (2 · 128 · 127 < 2^15)
  const rowScales = Float32Array.from({ length: m0 }, () => rand(0.001, 0.02));
  const core0 = Float32Array.from(codes, (q, e) => Math.fround(q * rowScales[Math.floor(e / L)]));
  const cores = [
    core0,
    ...rowModes.slice(1).map((m, i) => {
      const k = i + 1;
      const n = ranks[k] * m * colModes[k] * ranks[k + 1];
      return integer ? Float32Array.from({ length: n }, () => int(-3, 3)) : randomF32(n, rand);
    }),
  ];
  const tt: TtCores = { rows, cols, rowModes, colModes, ranks, cores };
  const x = integer ? Float32Array.from({ length: cols }, () => int(-4, 4)) : randomF32(cols, rand);
  return { tt, codes, rowScales, x, P: rowModes.slice(1).reduce((p, v) => p * v, 1), L };
}

/** Runs tt_matvec_q8r (and tt_matmat_q8r over 3 timesteps of x, 2x, −x) and tt_matvec_f32r on one TT. */
function runQ8(c: ReturnType<typeof int8Core0Tt>, x: Float32Array, misalign = 0) {
  const rx = k.relaxed!;
  const { tt } = c;
  const arena = new Arena(k, misalign);
  const { desc, work } = place(arena, tt);
  const codes = arena.put(c.codes, "codes");
  const scales = arena.put(c.rowScales, "row scales");
  const offsets = arena.put(
    Int32Array.from({ length: tt.rowModes[0] }, (_, i) => {
      let s = 0;
      for (let l = 0; l < c.L; l++) s += c.codes[i * c.L + l];
      return -64 * s;
    }),
    "row offsets",
  );
  const y0 = randomF32(tt.rows, rng(7));
  const px = arena.put(x, "x");
  const py = arena.put(y0, "y");
  const pyF = arena.put(y0, "y f32");
  const xs = Float32Array.from(
    { length: 3 * tt.cols },
    (_, e) => [1, 2, -1][Math.floor(e / tt.cols)] * x[e % tt.cols],
  );
  const pxs = arena.put(xs, "X");
  const ys0 = new Float32Array(3 * tt.rows);
  const pys = arena.put(ys0, "Y");
  rx.tt_matvec_q8r(desc, px, py, work, codes, scales, offsets);
  rx.tt_matmat_q8r(desc, pxs, 3, pys, work, codes, scales, offsets);
  rx.tt_matvec_f32r(desc, px, pyF, work);
  arena.checkGuards();
  assert.deepEqual(arena.f32(px, tt.cols), x, "x must not change");
  return { y0, y: arena.f32(py, tt.rows), yF: arena.f32(pyF, tt.rows), ys: arena.f32(pys, 3 * tt.rows), xs };
}

const Q8_CASES: [number, number, number[], number[], number[]][] = [
  // rows, cols, row modes, col modes, ranks: the fast split's shape (L = 32, the register path), crops of
  // the padded rows, L = 16, 48, 64 (the general loop), P = 8, 4 cores, a single core row
  [40, 20, [10, 2, 2], [2, 2, 5], [1, 16, 4, 1]],
  [37, 19, [10, 2, 2], [2, 2, 5], [1, 16, 3, 1]],
  [148, 9, [37, 4], [1, 9], [1, 16, 1]],
  [21, 30, [3, 8], [3, 10], [1, 16, 1]],
  [39, 12, [5, 2, 4], [2, 2, 3], [1, 32, 2, 1]],
  [64, 48, [4, 2, 2, 4], [2, 2, 3, 4], [1, 8, 3, 2, 1]],
  [4, 7, [1, 4], [1, 7], [1, 64, 1]],
];

for (const sums of [0, 1]) {
  Deno.test({
    name: `tt_matvec_q8r / tt_matmat_q8r equal the reference on exact step inputs (${
      sums ? "i16" : "i32"
    } sums)`,
    ignore: !k.relaxed,
    fn() {
      const rx = k.relaxed!;
      rx.dot_sums(sums);
      try {
        Q8_CASES.forEach(([rows, cols, rm, cm, ranks], n) => {
          for (const misalign of [0, 4]) {
            const c = int8Core0Tt(rows, cols, rm, cm, ranks, 300 + n, true);
            const { y0, y, ys, xs } = runQ8(c, c.x, misalign);
            const what = `${rows} × ${cols}, modes ${rm} × ${cm}, ranks ${ranks}`;
            const want = y0.slice();
            ttCore0Q8(c.codes, c.rowScales, Float32Array.from(ttCore0Input(c.tt, c.x)), c.P, rows, want);
            assertAllClose(y, want, `y (${what})`, 0, 0);
            for (let t = 0; t < 3; t++) {
              const wt = new Float32Array(rows);
              const a = ttCore0Input(c.tt, xs.subarray(t * cols, (t + 1) * cols));
              ttCore0Q8(c.codes, c.rowScales, Float32Array.from(a), c.P, rows, wt);
              assertAllClose(ys.subarray(t * rows, (t + 1) * rows), wt, `Y timestep ${t} (${what})`, 0, 0);
            }
          }
        });
      } finally {
        rx.dot_sums(-1);
      }
    },
  });
}

Deno.test({
  name: "tt_matvec_q8r is within its step input's quantization error of the f32 product (random cores and x)",
  ignore: !k.relaxed,
  fn() {
    Q8_CASES.forEach(([rows, cols, rm, cm, ranks], n) => {
      const c = int8Core0Tt(rows, cols, rm, cm, ranks, 400 + n, false);
      const { y0, y } = runQ8(c, c.x);
      const a = ttCore0Input(c.tt, c.x);
      const exact = y0.slice();
      ttMatvecF32(c.tt, c.x, exact);
      // |A − aq · sa| ≤ sa / 2 per element: |Δy[i·P + p]| ≤ Σ_l |core0[i, l]| · sa[p] / 2 (+ f32 rounding)
      for (let r = 0; r < rows; r++) {
        const i = Math.floor(r / c.P), p = r % c.P;
        const { sx } = quantizeActivations(
          Float32Array.from(a.subarray(p * c.L, (p + 1) * c.L)),
          RELAXED_Q8_LEVELS,
        );
        let bound = 0;
        for (let l = 0; l < c.L; l++) bound += Math.abs(c.tt.cores[0][i * c.L + l]) * sx / 2;
        const err = Math.abs(y[r] - exact[r]);
        assert.ok(
          err <= bound * 1.01 + 1e-6 * (1 + Math.abs(exact[r])),
          `y[${r}] off by ${err} > ${bound} (case ${n})`,
        );
      }
      // and not the f32 result: the codes are used (a quantized A differs somewhere)
      assert.notDeepEqual([...y], [...runQ8(c, c.x).yF], `case ${n}: q8 and f32 results should differ`);
    });
  },
});

Deno.test({
  name: "tt_matvec_q8r runs core 0 in f32 (= tt_matvec_f32r) for Inf/NaN inputs and unqualified shapes",
  ignore: !k.relaxed,
  fn() {
    const c = int8Core0Tt(40, 20, [10, 2, 2], [2, 2, 5], [1, 16, 4, 1], 500, false);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const x = c.x.slice();
      x[3] = bad;
      const { y, yF } = runQ8(c, x);
      assert.deepEqual([...y], [...yF], `x[3] = ${bad}`);
    }
    // zero x: A is all zeros, y unchanged
    const z = runQ8(c, new Float32Array(20));
    assert.deepEqual([...z.y], [...z.y0]);
    // L = 2 · 5 (not a multiple of 16), P = 3 (not of 4), one core: the f32 path, bit for bit
    for (
      const [rows, cols, rm, cm, ranks] of [
        [40, 20, [10, 2, 2], [2, 2, 5], [1, 5, 4, 1]],
        [30, 20, [10, 3], [2, 10], [1, 8, 1]],
        [10, 6, [10], [6], [1, 1]],
      ] as [number, number, number[], number[], number[]][]
    ) {
      const u = int8Core0Tt(rows, cols, rm, cm, ranks, 501, false);
      const { y, yF } = runQ8(u, u.x);
      assert.deepEqual([...y], [...yF], `modes ${rm} × ${cm}, ranks ${ranks}`);
    }
  },
});
