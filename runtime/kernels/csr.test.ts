import assert from "node:assert/strict";
import { f32ToF16Bits } from "../format/f16.ts";
import { instantiateKernels } from "./kernels.ts";
import { CSR_VAL_KIND, csrGather, csrMatmat, csrMatvec, type CsrValues } from "./csr.ref.ts";
import { Arena, assertAllClose, randomF32, rng, SIZES } from "./testing.ts";

const k = await instantiateKernels();
const KINDS = ["f32", "f16", "int8", "int4"] as const;

interface Csr {
  rowPtr: Uint32Array;
  colIdx: Uint16Array | Uint32Array;
  values: CsrValues;
}

/** A random CSR matrix of about `density` non-zeros, with index width `bits` and values of `kind`. */
function randomCsr(
  rows: number,
  cols: number,
  density: number,
  bits: 16 | 32,
  kind: (typeof KINDS)[number],
  group: number,
  rand: ReturnType<typeof rng>,
): Csr {
  const rowPtr = new Uint32Array(rows + 1);
  const idx: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) if (rand(0, 1) < density) idx.push(c);
    rowPtr[r + 1] = idx.length;
  }
  const nnz = idx.length;
  const colIdx = bits === 16 ? Uint16Array.from(idx) : Uint32Array.from(idx);
  let values: CsrValues;
  if (kind === "f32") values = { kind, data: randomF32(nnz, rand) };
  else if (kind === "f16") values = { kind, data: Uint16Array.from(randomF32(nnz, rand), f32ToF16Bits) };
  else {
    const bytes = kind === "int8" ? nnz : Math.ceil(nnz / 2);
    values = {
      kind,
      data: new Uint8Array(bytes).map(() => Math.floor(rand(0, 256))),
      scales: randomF32(Math.ceil(nnz / group), rand, 0.01, 0.1),
      group,
    };
  }
  return { rowPtr, colIdx, values };
}

function put(arena: Arena, a: ArrayBufferView, name: string): number {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const p = arena.alloc(bytes.length, name);
  arena.bytes(p, bytes.length).set(bytes);
  return p;
}

/** Places the CSR parts in guarded memory; returns the kernels' leading arguments. */
function place(arena: Arena, m: Csr) {
  const v = m.values;
  const scales = v.kind === "int8" || v.kind === "int4" ? v.scales : new Float32Array(0);
  return [
    put(arena, m.rowPtr, "rowPtr"),
    put(arena, m.colIdx, "colIdx"),
    m.colIdx instanceof Uint16Array ? 16 : 32,
    put(arena, v.data, "values"),
    CSR_VAL_KIND[v.kind],
    put(arena, scales, "scales"),
    v.kind === "int8" || v.kind === "int4" ? v.group : 1,
  ] as const;
}

Deno.test("csrMatvec (reference) computes SPEC.md's 3 × 4 example times a vector", () => {
  const y = new Float32Array([1, 1, 1]);
  const values: CsrValues = { kind: "f32", data: new Float32Array([5, 7, 9]) };
  csrMatvec(
    new Uint32Array([0, 1, 1, 3]),
    new Uint16Array([1, 0, 3]),
    values,
    3,
    new Float32Array([1, 2, 3, 4]),
    y,
  );
  assert.deepEqual([...y], [11, 1, 1 + 7 + 36]);
});

for (const bits of [16, 32] as const) {
  for (const kind of KINDS) {
    Deno.test(`csr_matvec and csr_gather (${bits}-bit indices, ${kind} values) equal the references`, () => {
      for (const rows of SIZES) {
        for (const cols of SIZES) {
          for (const density of [0.05, 0.5, 1]) {
            const group = kind === "int4" ? 32 : kind === "int8" ? 3 : 1;
            const rand = rng(rows * 1000 + cols + bits + density * 100);
            const m = randomCsr(rows, cols, density, bits, kind, group, rand);
            const x = randomF32(cols, rand);
            const y0 = randomF32(rows, rand);
            const arena = new Arena(k, bits === 16 ? 2 : 0);
            const args = place(arena, m);
            const px = put(arena, x, "x");
            const py = put(arena, y0, "y");
            k.exports.csr_matvec(...args, rows, px, py);
            const expected = y0.slice();
            csrMatvec(m.rowPtr, m.colIdx, m.values, rows, x, expected);
            assertAllClose(arena.f32(py, rows), expected, `y (${rows}×${cols}, density ${density})`);
            const pout = arena.alloc(cols * 4, "out");
            for (const row of rows ? [0, rows - 1] : []) {
              k.exports.csr_gather(...args, cols, row, pout);
              const want = new Float32Array(cols);
              csrGather(m.rowPtr, m.colIdx, m.values, cols, row, want);
              assert.deepEqual(arena.f32(pout, cols), want, `row ${row} of ${rows}×${cols}`);
            }
            arena.checkGuards();
          }
        }
      }
    });

    Deno.test(`csr_matmat (${bits}-bit indices, ${kind} values) equals the reference for n in {${SIZES}}`, () => {
      for (const [rows, cols] of [[1, 1], [3, 5], [37, 4], [200, 203]]) {
        const group = kind === "int4" ? 7 : 64;
        const rand = rng(rows * 31 + cols + bits);
        const m = randomCsr(rows, cols, 0.3, bits, kind, group, rand);
        for (const n of SIZES) {
          const x = randomF32(n * cols, rand);
          const y0 = randomF32(n * rows, rand);
          const arena = new Arena(k);
          const args = place(arena, m);
          const px = put(arena, x, "X");
          const py = put(arena, y0, "Y");
          k.exports.csr_matmat(...args, rows, cols, px, n, py);
          arena.checkGuards();
          const expected = y0.slice();
          csrMatmat(m.rowPtr, m.colIdx, m.values, rows, cols, x, n, expected);
          assertAllClose(arena.f32(py, n * rows), expected, `Y (${rows}×${cols}, n ${n})`);
        }
      }
    });
  }
}
