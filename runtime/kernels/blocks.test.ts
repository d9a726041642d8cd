import assert from "node:assert/strict";
import { instantiateKernels } from "./kernels.ts";
import { BLOCK_VAL_KIND, blocksGather, blocksMatmat, type BlocksMatrix, blocksMatvec } from "./blocks.ref.ts";
import { blocksScratchBytes } from "./scratch.ts";
import { Arena, assertAllClose, randomF32, rng, SIZES } from "./testing.ts";

const k = await instantiateKernels();
const SHAPES = [[1, 4], [1, 8], [1, 16], [4, 4], [4, 8], [4, 16]] as const;

/** A random SparseBlocks matrix keeping about `density` of its blocks (padding values 0, as written). */
function randomBlocks(
  rows: number,
  cols: number,
  [blockRows, blockCols]: readonly [number, number],
  density: number,
  kind: "f32" | "int8",
  group: number,
  rand: ReturnType<typeof rng>,
): BlocksMatrix {
  const per = Math.ceil(cols / blockCols);
  const nRows = Math.ceil(rows / blockRows);
  const rowPtr = new Uint32Array(nRows + 1);
  const idx: number[] = [];
  const rowOf: number[] = [];
  for (let i = 0; i < nRows; i++) {
    for (let b = 0; b < per; b++) {
      if (rand(0, 1) < density) {
        idx.push(b);
        rowOf.push(i);
      }
    }
    rowPtr[i + 1] = idx.length;
  }
  const size = blockRows * blockCols;
  const n = idx.length * size;
  // Value v of block k sits at row rowOf[k]·R + ⌊v/C⌋, column idx[k]·C + v % C: padding outside the matrix.
  const padding = (i: number) => {
    const k = Math.floor(i / size);
    const v = i % size;
    return rowOf[k] * blockRows + Math.floor(v / blockCols) >= rows ||
      idx[k] * blockCols + (v % blockCols) >= cols;
  };
  const blockIdx = Uint16Array.from(idx);
  const shape = { rowPtr, blockIdx, blockRows, blockCols, rows, cols };
  if (kind === "f32") {
    return {
      ...shape,
      values: { kind, data: randomF32(n, rand).map((v, i) => padding(i) ? 0 : v) },
    };
  }
  const data = new Uint8Array(n).map((_, i) => padding(i) ? 0 : Math.floor(rand(0, 256)));
  const scales = randomF32(Math.ceil(n / group), rand, 0.01, 0.1);
  return { ...shape, values: { kind, data, scales, group } };
}

/** Places the matrix in guarded memory; returns the kernels' leading arguments (through c). */
function place(arena: Arena, m: BlocksMatrix) {
  const v = m.values;
  return [
    arena.put(m.rowPtr, "rowPtr"),
    arena.put(m.blockIdx, "blockIdx"),
    arena.put(v.data, "values"),
    BLOCK_VAL_KIND[v.kind],
    arena.put(v.kind === "int8" ? v.scales : new Float32Array(0), "scales"),
    v.kind === "int8" ? v.group : 1,
    m.blockRows,
    m.blockCols,
  ] as const;
}

Deno.test("blocksMatvec (reference) keeps a block reaching past cols from reading its padding", () => {
  // 1 × 6 with blocks of 4: block 1 covers columns 4, 5 and two padding columns.
  const m: BlocksMatrix = {
    rowPtr: new Uint32Array([0, 2]),
    blockIdx: new Uint16Array([0, 1]),
    blockRows: 1,
    blockCols: 4,
    rows: 1,
    cols: 6,
    values: { kind: "f32", data: new Float32Array([1, 2, 3, 4, 5, 6, 99, 99]) },
  };
  const y = new Float32Array(1);
  blocksMatvec(m, new Float32Array([1, 1, 1, 1, 1, 2]), y);
  assert.deepEqual([...y], [1 + 2 + 3 + 4 + 5 + 12]);
});

for (const misalign of [0, 4] as const) {
  for (const kind of ["f32", "int8"] as const) {
    for (const shape of SHAPES) {
      const [br, c] = shape;
      Deno.test(`blocks_matvec and blocks_gather (${br}×${c}, ${kind}, arrays at 16k + ${misalign}) equal the references`, () => {
        for (const rows of SIZES) {
          for (const cols of SIZES) {
            for (const density of [0.1, 0.5, 1]) {
              const group = br * c * (kind === "int8" ? 3 : 1);
              const rand = rng(rows * 1000 + cols + misalign + br * c + density * 100);
              const m = randomBlocks(rows, cols, shape, density, kind, group, rand);
              for (const special of [false, true]) {
                const x = randomF32(cols, rand);
                if (special && cols) x[cols >> 1] = Infinity; // int8: the exact f32 path
                const y0 = randomF32(rows, rand);
                const arena = new Arena(k, misalign);
                const args = place(arena, m);
                const px = arena.put(x, "x");
                const py = arena.put(y0, "y");
                const scratch = arena.alloc(blocksScratchBytes(cols), "scratch");
                k.exports.blocks_matvec(...args, rows, cols, px, py, scratch);
                const expected = y0.slice();
                blocksMatvec(m, x, expected);
                assertAllClose(arena.f32(py, rows), expected, `y (${rows}×${cols}, density ${density})`);
                assert.deepEqual(arena.f32(px, cols), x, "x is not written");
                const pout = arena.alloc(cols * 4, "out");
                for (const row of rows && !special ? [0, Math.floor(rows / 2), rows - 1] : []) {
                  k.exports.blocks_gather(...args, cols, row, pout);
                  const want = new Float32Array(cols);
                  blocksGather(m, row, want);
                  assert.deepEqual(arena.f32(pout, cols), want, `row ${row} of ${rows}×${cols}`);
                }
                arena.checkGuards();
              }
            }
          }
        }
      });
    }

    Deno.test(`blocks_matmat (${kind}, arrays at 16k + ${misalign}) equals the reference`, () => {
      for (
        const [rows, cols, br, c] of [[1, 1, 1, 4], [3, 5, 4, 8], [37, 4, 1, 16], [200, 203, 4, 16], [
          64,
          200,
          1,
          8,
        ]]
      ) {
        const rand = rng(rows * 31 + cols + misalign);
        const m = randomBlocks(rows, cols, [br, c], 0.3, kind, 4 * br * c, rand);
        for (const n of [0, 1, 3, 4, 9]) {
          const x = randomF32(n * cols, rand);
          const y0 = randomF32(n * rows, rand);
          const arena = new Arena(k, misalign);
          const args = place(arena, m);
          const px = arena.put(x, "x");
          const py = arena.put(y0, "y");
          const scratch = arena.alloc(blocksScratchBytes(cols), "scratch");
          k.exports.blocks_matmat(...args, rows, cols, px, n, py, scratch);
          const expected = y0.slice();
          blocksMatmat(m, x, n, expected);
          assertAllClose(arena.f32(py, n * rows), expected, `Y (${rows}×${cols}, n ${n})`);
          arena.checkGuards();
        }
      }
    });
  }
}

for (const shape of [[1, 16], [4, 16]] as const) {
  Deno.test(`blocks_matvec (${shape.join("×")}) sums long int8 rows exactly (extreme codes, one scale per 4096 values)`, () => {
    const rows = 4, cols = 5000;
    const rand = rng(7);
    const m = randomBlocks(rows, cols, shape, 1, "int8", 4096, rand);
    const v = m.values as Extract<BlocksMatrix["values"], { kind: "int8" }>;
    v.data.forEach((_, i) => v.data[i] = i % 2 ? 127 : 0x80); // ±127/−128: the largest products
    const x = new Float32Array(cols).map((_, i) => i % 2 ? 1 : -1);
    const arena = new Arena(k);
    const args = place(arena, m);
    const px = arena.put(x, "x");
    const py = arena.put(new Float32Array(rows), "y");
    k.exports.blocks_matvec(...args, rows, cols, px, py, arena.alloc(blocksScratchBytes(cols), "scratch"));
    const expected = new Float32Array(rows);
    blocksMatvec(m, x, expected);
    assertAllClose(arena.f32(py, rows), expected, "y");
    arena.checkGuards();
  });
}

Deno.test("blocks_matvec with the compiler's default group (512 values, runs across block rows) equals the reference", () => {
  for (const shape of SHAPES) {
    for (const density of [0.2, 1]) {
      const rows = 37, cols = 700;
      const rand = rng(shape[0] * 100 + shape[1] + density * 10);
      const m = randomBlocks(rows, cols, shape, density, "int8", 512, rand);
      const x = randomF32(cols, rand);
      const y0 = randomF32(rows, rand);
      const arena = new Arena(k);
      const args = place(arena, m);
      const px = arena.put(x, "x");
      const py = arena.put(y0, "y");
      k.exports.blocks_matvec(...args, rows, cols, px, py, arena.alloc(blocksScratchBytes(cols), "scratch"));
      const expected = y0.slice();
      blocksMatvec(m, x, expected);
      assertAllClose(arena.f32(py, rows), expected, `y (${shape.join("×")}, density ${density})`);
      arena.checkGuards();
    }
  }
});
