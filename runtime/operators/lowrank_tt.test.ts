import { instantiateKernels } from "../kernels/kernels.ts";
import { Arena, assertAllClose, randomF32, rng } from "../kernels/testing.ts";
import { matrixOperator, operatorScratchBytes } from "./matrix_operator.ts";
import type { DenseInfo, MatrixInfo } from "../format/read.ts";
import { LOWRANK_MATMAT_BLOCK } from "./lowrank.ts";
import { matmatF32 } from "../kernels/matmat.ref.ts";
import { ttDense } from "../kernels/tt.ref.ts";

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
