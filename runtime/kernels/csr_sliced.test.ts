import assert from "node:assert/strict";
import { instantiateKernels } from "./kernels.ts";
import { quantizedScratchBytes } from "./scratch.ts";
import { csrMatvecSliced } from "./csr.ref.ts";
import { type CsrArrays, sliceCounts, slicedBytes, writeSlices } from "../operators/csr_slices.ts";
import { Arena, assertAllClose, randomF32, rng, SIZES } from "./testing.ts";

// The relaxed module's sliced CSR products (as/relaxed.ts, csr_matvec_q8r / csr_matmat_q8r) on the layout
// of runtime/operators/csr_slices.ts, against csrMatvecSliced: odd sizes, column counts around the
// 16-column blocks, scale groups that cut rows, codes at both ends of int8, guard bytes around everything.
const k = await instantiateKernels(undefined, true);
const rx = k.relaxed;
const skip = rx === undefined;
if (skip) console.log("csr_sliced.test.ts: this engine does not validate relaxed SIMD; skipped");

/** A random CSR matrix with int8 codes (every code −128 … 127 possible, 0 included) and f32 scales. */
function randomCsr8(rows: number, cols: number, density: number, group: number, seed: number): CsrArrays {
  const rand = rng(seed);
  const rowPtr = new Uint32Array(rows + 1);
  const idx: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) if (rand(0, 1) < density) idx.push(c);
    rowPtr[r + 1] = idx.length;
  }
  const codes = new Int8Array(idx.length).map(() => Math.floor(rand(-128, 128)));
  if (codes.length > 1) [codes[0], codes[1]] = [-128, 127];
  const g = Math.max(1, Math.min(group, idx.length));
  return {
    rows,
    rowPtr,
    colIdx: Uint16Array.from(idx),
    codes,
    scales: randomF32(Math.ceil(idx.length / g), rand, 0.001, 0.1),
    group: g,
  };
}

/** `m`'s sliced copy in the arena; returns [pointer, quads, slices]. */
function placeSliced(arena: Arena, m: CsrArrays): [number, number, number] {
  const counts = sliceCounts(m);
  const bytes = slicedBytes(counts);
  const p = arena.alloc(bytes, "sliced");
  writeSlices(m, new Uint8Array(k.memory.buffer, p, bytes));
  return [p, counts.quads, counts.slices];
}

const COLS = [...SIZES, 15, 16, 17, 33, 64];

Deno.test({
  name: "csr_matvec_q8r equals csrMatvecSliced over sizes, densities and scale groups",
  ignore: skip,
  fn() {
    for (const rows of SIZES) {
      for (const cols of COLS) {
        for (const density of [0.05, 0.2, 0.7, 1]) {
          for (const group of [1, 3, 64, 1 << 20]) {
            const seed = rows * 7919 + cols * 31 + density * 1000 + group;
            const m = randomCsr8(rows, cols, density, group, seed);
            const rand = rng(seed + 1);
            const x = randomF32(cols, rand, -2, 2);
            const y0 = randomF32(rows, rand);
            const arena = new Arena(k);
            const [p, quads, slices] = placeSliced(arena, m);
            const px = arena.put(x, "x");
            const py = arena.put(y0, "y");
            const scratch = arena.alloc(quantizedScratchBytes(cols), "scratch");
            assert.equal(rx!.csr_matvec_q8r(p, quads, slices, cols, px, py, scratch), 1);
            arena.checkGuards();
            const want = y0.slice();
            csrMatvecSliced(m.rowPtr, m.colIdx, m.codes, m.scales, m.group, rows, x, want);
            assertAllClose(arena.f32(py, rows), want, `${rows}×${cols}, density ${density}, group ${group}`);
          }
        }
      }
    }
  },
});

Deno.test({
  name: "csr_matmat_q8r is csr_matvec_q8r per timestep; Inf/NaN anywhere in X: 0 and nothing written",
  ignore: skip,
  fn() {
    for (const [rows, cols] of [[1, 1], [5, 37], [37, 203], [200, 17]]) {
      const m = randomCsr8(rows, cols, 0.3, 5, rows + cols);
      const rand = rng(rows * cols);
      for (const n of SIZES) {
        const x = randomF32(n * cols, rand);
        const y0 = randomF32(n * rows, rand);
        const arena = new Arena(k, 4);
        const [p, quads, slices] = placeSliced(arena, m);
        const px = arena.put(x, "X");
        const py = arena.put(y0, "Y");
        const scratch = arena.alloc(quantizedScratchBytes(cols), "scratch");
        assert.equal(rx!.csr_matmat_q8r(p, quads, slices, rows, cols, px, n, py, scratch), 1);
        arena.checkGuards();
        const want = y0.slice();
        for (let t = 0; t < n; t++) {
          const xt = x.subarray(t * cols, (t + 1) * cols);
          csrMatvecSliced(m.rowPtr, m.colIdx, m.codes, m.scales, m.group, rows, xt, want.subarray(t * rows));
        }
        assertAllClose(arena.f32(py, n * rows), want, `Y (${rows}×${cols}, n ${n})`);
        if (n === 0) continue;
        for (const bad of [Infinity, NaN]) {
          const xb = x.slice();
          xb[n * cols - 1] = bad;
          const pb = arena.put(xb, "X bad");
          const before = arena.f32(py, n * rows);
          assert.equal(rx!.csr_matmat_q8r(p, quads, slices, rows, cols, pb, n, py, scratch), 0);
          assert.equal(rx!.csr_matvec_q8r(p, quads, slices, cols, pb + 4 * (n - 1) * cols, py, scratch), 0);
          assert.deepEqual(arena.f32(py, n * rows), before);
        }
      }
    }
  },
});

Deno.test({
  name: "csr_matvec_q8r leaves y as is for an all-zero x and for a matrix without non-zeros",
  ignore: skip,
  fn() {
    for (const density of [0, 0.5]) {
      const m = randomCsr8(9, 40, density, 64, 11);
      const arena = new Arena(k);
      const [p, quads, slices] = placeSliced(arena, m);
      const y0 = randomF32(9, rng(2));
      const py = arena.put(y0, "y");
      const x = density === 0 ? randomF32(40, rng(3)) : new Float32Array(40);
      const scratch = arena.alloc(quantizedScratchBytes(40), "scratch");
      assert.equal(rx!.csr_matvec_q8r(p, quads, slices, 40, arena.put(x, "x"), py, scratch), 1);
      assert.deepEqual(arena.f32(py, 9), y0);
      arena.checkGuards();
    }
  },
});
