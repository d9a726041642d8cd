import { instantiateKernels } from "../kernels/kernels.ts";
import { Arena, assertAllClose, randomF32, rng } from "../kernels/testing.ts";
import { matrixOperator, operatorScratchBytes } from "./matrix_operator.ts";
import type { DenseInfo, MatrixInfo } from "../format/read.ts";
import { LOWRANK_MATMAT_BLOCK } from "./lowrank.ts";
import { matmatF32 } from "../kernels/matmat.ref.ts";
import { ttCore0Input, type TtCores, ttDense } from "../kernels/tt.ref.ts";
import { quantizeActivations, RELAXED_Q8_LEVELS } from "../kernels/quantized.ref.ts";
import { decodeStorage } from "../../compiler/methods/storage.ts";
import assert from "node:assert/strict";
import { int8Core0, prepareCore0 } from "./tt.ts";
import { irMatrix } from "../../compiler/ir.ts";
import { encodeModelDense } from "../../compiler/encoded.ts";
import { parseMethod } from "../../compiler/recipe.ts";
import { methodFor } from "../../compiler/methods/registry.ts";
import { writeLem } from "../../compiler/writer.ts";
import { readLem } from "../format/read.ts";
import { randomIrModel } from "../format/test_fixtures.ts";

const k = await instantiateKernels();

/** A Dense f32 leaf placed in the arena. */
function dense(arena: Arena, name: string, data: Float32Array, rows: number, cols: number): DenseInfo {
  const dataOffset = arena.put(data, name);
  return {
    kind: "dense",
    name,
    rows,
    cols,
    bytes: 4 * rows * cols,
    floatType: "f32",
    dataOffset,
    dataLength: 4 * rows * cols,
  };
}

/** Runs the operator's matmat over n timesteps and compares with a dense matmat of `w`. */
function checkMatmat(arena: Arena, m: MatrixInfo, w: Float32Array, n: number, what: string) {
  const rand = rng(n);
  const op = matrixOperator(m, k, arena.alloc(operatorScratchBytes(m, k), "scratch"));
  const x = randomF32(n * m.cols, rand);
  const y0 = randomF32(n * m.rows, rand);
  const px = arena.put(x, "X");
  const py = arena.put(y0, "Y");
  op.matmat(px, n, py);
  arena.checkGuards();
  const expected = y0.slice();
  matmatF32(w, m.rows, m.cols, x, n, expected);
  assertAllClose(arena.f32(py, n * m.rows), expected, what, 1e-5, 1e-4);
}

Deno.test(`lowrank matmat crosses its ${LOWRANK_MATMAT_BLOCK}-timestep blocks correctly (n = 1, 64, 65, 150)`, () => {
  const [rows, cols, r] = [37, 23, 5];
  const rand = rng(1);
  const a = randomF32(rows * r, rand);
  const b = randomF32(r * cols, rand);
  const w = new Float32Array(rows * cols); // A·B
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < cols; c++) {
      let sum = 0;
      for (let q = 0; q < r; q++) sum += a[i * r + q] * b[q * cols + c];
      w[i * cols + c] = sum;
    }
  }
  for (const n of [1, 64, 65, 150]) {
    const arena = new Arena(k);
    const m: MatrixInfo = {
      kind: "lowrank",
      name: "w",
      rows,
      cols,
      bytes: 0,
      rank: r,
      a: dense(arena, "w.a", a, rows, r),
      b: dense(arena, "w.b", b, r, cols),
    };
    checkMatmat(arena, m, w, n, `lowrank Y (n ${n})`);
  }
});

Deno.test("tt matmat over 70 timesteps equals a dense matmat of its reconstruction", () => {
  const rand = rng(2);
  const tt = {
    rows: 30,
    cols: 17,
    rowModes: [2, 3, 5],
    colModes: [3, 2, 3],
    ranks: [1, 3, 4, 1],
    cores: [] as Float32Array[],
  };
  tt.cores = tt.rowModes.map((m, i) => randomF32(tt.ranks[i] * m * tt.colModes[i] * tt.ranks[i + 1], rand));
  const arena = new Arena(k);
  const cores = tt.cores.map((c, i) =>
    dense(arena, `w.cores.${i}`, c, tt.ranks[i], tt.rowModes[i] * tt.colModes[i] * tt.ranks[i + 1])
  );
  const m: MatrixInfo = { kind: "tt", name: "w", bytes: 0, ...tt, cores };
  checkMatmat(arena, m, Float32Array.from(ttDense(tt)), 70, "tt Y");
});

Deno.test("tt row gathers for the embedding (prefix cache) equal rows of the reconstruction, first and repeated", () => {
  const shapes = [
    { rows: 30, cols: 17, rowModes: [2, 3, 5], colModes: [3, 2, 3], ranks: [1, 3, 4, 1] }, // padded cols (18)
    // More rows than the kept-rows cache's 1024 slots: rows r and r + 1024 share a slot and evict each other.
    { rows: 2500, cols: 6, rowModes: [50, 50], colModes: [2, 3], ranks: [1, 3, 1] },
    { rows: 7, cols: 6, rowModes: [2, 4], colModes: [2, 3], ranks: [1, 5, 1] }, // padded rows (8)
    { rows: 24, cols: 16, rowModes: [2, 3, 2, 2], colModes: [2, 2, 2, 2], ranks: [1, 2, 3, 2, 1] },
    { rows: 5, cols: 4, rowModes: [5], colModes: [4], ranks: [1, 1] }, // d = 1: no prefix to keep
  ];
  for (const [s, shape] of shapes.entries()) {
    const rand = rng(10 + s);
    const cores = shape.rowModes.map((m, i) =>
      randomF32(shape.ranks[i] * m * shape.colModes[i] * shape.ranks[i + 1], rand)
    );
    const w = Float32Array.from(ttDense({ ...shape, cores }));
    const arena = new Arena(k);
    const m: MatrixInfo = {
      kind: "tt",
      name: "embedding",
      bytes: 0,
      ...shape,
      cores: cores.map((c, i) =>
        dense(
          arena,
          `embedding.cores.${i}`,
          c,
          shape.ranks[i],
          shape.rowModes[i] * shape.colModes[i] * shape.ranks[i + 1],
        )
      ),
    };
    const use = { gathers: true };
    const op = matrixOperator(m, k, arena.alloc(operatorScratchBytes(m, k, use), "scratch"), use);
    const out = arena.alloc(4 * shape.cols, "out");
    // Every row twice, in an order where rows sharing a prefix are apart: cache misses then hits; then rows
    // that share a kept-row slot, alternately.
    const order = [...Array(shape.rows).keys()].map((r) => (r * 7) % shape.rows);
    const clashes = shape.rows > 2048 ? [5, 1029, 2053, 5, 2053, 1029, 5] : [];
    for (const row of [...order, ...order.reverse(), ...clashes]) {
      op.gatherRow(row, out);
      assertAllClose(
        arena.f32(out, shape.cols),
        w.subarray(row * shape.cols, (row + 1) * shape.cols),
        `row ${row}`,
      );
    }
    arena.checkGuards();
  }
});

// With the relaxed module, a TT whose core 0 is int8 runs that core's step on its codes
// (runtime/operators/tt.ts, int8Core0; the kernel's exact tests are in runtime/kernels/tt.test.ts).
const kr = await instantiateKernels(undefined, true);
const kp = await instantiateKernels(undefined, false);

/** The decoder of a compiled 40 × 20 model (`method`) loaded in `kernels`, with an operator and x, y. */
function compiledTt(kernels: typeof k, method: string) {
  const rand = rng(21);
  const ir = randomIrModel(21, { vocab: 40, embed: 4, hidden: [20] });
  const w = irMatrix("decoder", 40, 20, Float32Array.from({ length: 800 }, () => 2 * rand() - 1));
  const spec = parseMethod(method);
  const decoder = methodFor(spec).encode(
    w,
    { ...spec, rowModes: [10, 2, 2], colModes: [2, 2, 5] } as typeof spec,
    "decoder",
  )
    .encoded;
  const bytes = writeLem({
    ...encodeModelDense(ir, "f32", { name: "t", compiler: "test", recipe: "{}" }),
    decoder,
  });
  const arena = new Arena(kernels);
  const file = readLem(arena.bytes(arena.put(bytes, "file"), bytes.length));
  const m = file.decoder;
  const op = matrixOperator(m, kernels, arena.alloc(operatorScratchBytes(m, kernels), "scratch"));
  const xs = Float32Array.from({ length: 3 * 20 }, () => 2 * rand() - 1);
  const e = decoder.encoding as Extract<typeof decoder.encoding, { kind: "tt" }>;
  return {
    tt: { rows: 40, cols: 20, ...e, cores: e.cores.map(decodeStorage) } as TtCores,
    xs,
    arena,
    m,
    op,
    px: arena.put(xs, "X"),
    py: arena.put(new Float32Array(3 * 40), "Y"),
    py1: arena.put(new Float32Array(40), "y"),
  };
}

for (const storage of ["int8", "int8:s16", "int8:g64"]) {
  Deno.test({
    name:
      `tt with an ${storage} core 0: the relaxed operator's int8 step is close to the f32 one, matvec = matmat`,
    ignore: !kr.relaxed,
    fn() {
      const q = compiledTt(kr, `tt:16+${storage}`);
      const f = compiledTt(kp, `tt:16+${storage}`);
      assert(q.m.kind === "tt" && int8Core0(q.m), "the fast split at rank 16 qualifies");
      for (const c of [q, f]) {
        c.op.matmat(c.px, 3, c.py);
        c.op.matvec(c.px + 80, c.py1); // timestep 1 alone
        c.arena.checkGuards();
      }
      const yq = q.arena.f32(q.py, 120), yf = f.arena.f32(f.py, 120);
      let differ = false;
      for (let t = 0; t < 3; t++) {
        // Within the rounding of core 0's step input A to 7 bits per row p: Σ_l |G_0[i, l]| · sa[p] / 2.
        const a = ttCore0Input(q.tt, q.xs.subarray(20 * t, 20 * t + 20));
        for (let r = 0; r < 40; r++) {
          const i = r >> 2, p = r & 3;
          const { sx } = quantizeActivations(
            Float32Array.from(a.subarray(32 * p, 32 * p + 32)),
            RELAXED_Q8_LEVELS,
          );
          let bound = 1e-4;
          for (let l = 0; l < 32; l++) bound += Math.abs(q.tt.cores[0][32 * i + l]) * sx / 2;
          const [vq, vf] = [yq[40 * t + r], yf[40 * t + r]];
          assert.ok(Math.abs(vq - vf) <= bound, `Y[${t}, ${r}]: ${vq} against f32 ${vf} (bound ${bound})`);
          if (vq !== vf) differ = true;
        }
      }
      assert.ok(differ, "the int8 step ran (its results differ from f32 by the step input's rounding)");
      assert.deepEqual(q.arena.f32(q.py1, 40), yq.subarray(40, 80), "matvec = the matmat's timestep");
    },
  });

  Deno.test(`prepareCore0 (${storage}): row scale · code is the compiler's decoded core 0, offsets −64 · Σ codes`, () => {
    const { m, tt, arena } = compiledTt(kp, `tt:16+${storage}`);
    assert(m.kind === "tt" && m.cores[0].kind === "quantized");
    const at = arena.alloc(8 * 10, "prepared");
    prepareCore0(m, kp, at);
    const scales = arena.f32(at, 10);
    const offsets = new Int32Array(arena.bytes(at + 40, 40).slice().buffer);
    const codes = new Int8Array(arena.bytes(m.cores[0].dataOffset, 320).slice().buffer);
    for (let i = 0; i < 10; i++) {
      let sum = 0;
      for (let l = 0; l < 32; l++) {
        sum += codes[32 * i + l];
        assert.equal(
          Math.fround(codes[32 * i + l] * scales[i]),
          tt.cores[0][32 * i + l],
          `core 0 [${i}, ${l}]`,
        );
      }
      assert.equal(offsets[i], -64 * sum, `row ${i}'s offset`);
    }
  });
}

Deno.test("int8Core0: the int8 step needs 8-bit core 0 rows in one scale group, L % 16 and P % 4", () => {
  const base = compiledTt(kp, "tt:16+int8").m;
  assert(base.kind === "tt");
  assert.equal(int8Core0(base), true);
  assert.equal(int8Core0(compiledTt(kp, "tt:16+int8:g16").m as typeof base), false, "a scale per 16 of 32");
  assert.equal(int8Core0(compiledTt(kp, "tt:16+int4").m as typeof base), false, "4-bit");
  assert.equal(int8Core0(compiledTt(kp, "tt:16").m as typeof base), false, "f32 cores");
  assert.equal(int8Core0({ ...base, ranks: [1, 5, 4, 1] }), false, "L = 10");
  assert.equal(int8Core0({ ...base, rowModes: [10, 3, 2] }), false, "P = 6");
  const c0 = base.cores[0];
  assert(c0.kind === "quantized");
  assert.equal(
    int8Core0({ ...base, cores: [{ ...c0, groupSize: c0.cols + 7 }, ...base.cores.slice(1)] }),
    true,
    "one group past the columns",
  );
  assert.equal(
    int8Core0({ ...base, cores: [{ ...c0, groupSize: 48 }, ...base.cores.slice(1)] }),
    false,
    "48: rows split",
  );
});
