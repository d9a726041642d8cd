import assert from "node:assert/strict";
import { instantiateKernels } from "./kernels.ts";
import { BLOCK_VAL_KIND, blocksGather, blocksMatmat, type BlocksMatrix, blocksMatvec } from "./blocks.ref.ts";
import { blocksScratchBytes } from "./scratch.ts";
import { Arena, assertAllClose, randomF32, rng, SIZES } from "./testing.ts";
import { quantizeActivations, RELAXED_Q8_LEVELS } from "./quantized.ref.ts";

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

/** Per row, Σ |q · xq| · scale · sx over its stored entries (7-bit x): a bound on its terms' magnitudes. */
function termMagnitudes(m: BlocksMatrix, x: Float32Array): Float64Array {
  const v = m.values as Extract<BlocksMatrix["values"], { kind: "int8" }>;
  const { xq, sx } = quantizeActivations(x, RELAXED_Q8_LEVELS);
  const out = new Float64Array(m.rows);
  const [br, bc] = [m.blockRows, m.blockCols];
  for (let i = 0; i < m.rowPtr.length - 1; i++) {
    for (let k = m.rowPtr[i]; k < m.rowPtr[i + 1]; k++) {
      for (let q = 0; q < br && i * br + q < m.rows; q++) {
        for (let j = 0; j < bc && m.blockIdx[k] * bc + j < m.cols; j++) {
          const at = (k * br + q) * bc + j;
          const code = (v.data[at] << 24) >> 24;
          out[i * br + q] += Math.abs(code * xq[m.blockIdx[k] * bc + j]) *
            v.scales[Math.floor(at / v.group)] * sx;
        }
      }
    }
  }
  return out;
}

// The relaxed module's blocks_matmat_q8r (as/relaxed.ts): 4 × 8 and 4 × 16 int8 blocks with x quantized to
// 7 bits, against the reference at RELAXED_Q8_LEVELS; Inf/NaN in x returns 0 having written nothing. Each
// shape with its blocks summed by i32 and by i16 dot products (dot_sums; by default the engine's dot
// product decides).
const kr = await instantiateKernels(undefined, true);
const rx = kr.relaxed;
/** blocks_matmat_q8r against the reference for one block shape (the sums mode already set). */
function checkBlocksQ8r(shape: readonly [number, number]) {
  for (const rows of SIZES) {
    for (const cols of [...SIZES, 700]) {
      for (const density of [0.2, 1]) {
        for (const group of [shape[0] * shape[1], 3 * shape[0] * shape[1], 512, 4096]) {
          const rand = rng(rows * 1000 + cols + shape[1] + density * 100 + group);
          const m = randomBlocks(rows, cols, shape, density, "int8", group, rand);
          const v = m.values as Extract<BlocksMatrix["values"], { kind: "int8" }>;
          if (v.data.length > 1) [v.data[0], v.data[1]] = [0x80, 127]; // −128 and 127
          const n = rows % 3 === 0 ? 3 : 1;
          const x = randomF32(n * cols, rand, -2, 2);
          const y0 = randomF32(n * rows, rand);
          const arena = new Arena(kr, 4);
          const [rowPtr, idx, vals, , scales, g, , c] = place(arena, m);
          const px = arena.put(x, "x");
          const py = arena.put(y0, "y");
          const scratch = arena.alloc(blocksScratchBytes(cols), "scratch");
          assert.equal(
            rx!.blocks_matmat_q8r(rowPtr, idx, vals, scales, g, c, rows, cols, px, n, py, scratch),
            1,
          );
          const expected = y0.slice();
          for (let t = 0; t < n; t++) {
            blocksMatvec(
              m,
              x.subarray(t * cols, (t + 1) * cols),
              expected.subarray(t * rows, (t + 1) * rows),
              RELAXED_Q8_LEVELS,
            );
          }
          // Each run of one scale is exact in integers; the runs' terms add in f32 (the reference in f64), so
          // where many small runs cancel, rounding scales with the terms, not with their sum.
          const got = arena.f32(py, n * rows);
          for (let t = 0; t < n; t++) {
            const terms = termMagnitudes(m, x.subarray(t * cols, (t + 1) * cols));
            for (let r = 0; r < rows; r++) {
              const i = t * rows + r;
              const tol = 1e-6 + 1e-6 * (Math.abs(expected[i]) + terms[r]);
              if (!(Math.abs(got[i] - expected[i]) <= tol)) {
                assert.fail(
                  `Y[${i}] (${rows}×${cols}, n ${n}, group ${group}): ${got[i]} vs ${expected[i]}`,
                );
              }
            }
          }
          assert.deepEqual(arena.f32(px, n * cols), x, "x is not written");
          if (rows && cols) {
            const bad = x.slice();
            bad[bad.length - 1] = NaN;
            const pb = arena.put(bad, "bad x");
            const before = arena.f32(py, n * rows).slice();
            assert.equal(
              rx!.blocks_matmat_q8r(rowPtr, idx, vals, scales, g, c, rows, cols, pb, n, py, scratch),
              0,
            );
            assert.deepEqual(arena.f32(py, n * rows), before, "nothing written for a NaN in x");
          }
          arena.checkGuards();
        }
      }
    }
  }
}

for (const [shape, sums] of [[[4, 8], 0], [[4, 8], 1], [[4, 16], 0], [[4, 16], 1]] as const) {
  Deno.test({
    name: `blocks_matmat_q8r (${shape.join("×")}, ${
      sums ? "i16" : "i32"
    } sums) equals blocksMatvec at 7-bit x: sizes, runs of one scale, extreme codes`,
    ignore: rx === undefined,
    fn() {
      rx!.dot_sums(sums);
      try {
        checkBlocksQ8r(shape);
      } finally {
        rx!.dot_sums(-1);
      }
    },
  });
}
