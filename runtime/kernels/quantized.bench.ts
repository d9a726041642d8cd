/**
 * Decoder-shaped 10000 × 200 products on compressed encodings against dense f32: int8 per row, int4 per
 * group of 32 (plain SIMD, and relaxed SIMD where this engine has it), and CSR at several densities (f32
 * and int8 values). Run: deno bench -A runtime/kernels/quantized.bench.ts. Benchmarks are not tests;
 * compare ratios within a run (quantized_ratios.ts interleaves the kernels, which this machine needs).
 */

import { preparedTableBytes, q4PrepCodesOffset, quantizedScratchBytes } from "./scratch.ts";
import { ensureMemory, instantiateKernels } from "./kernels.ts";
import { randomF32, rng } from "./testing.ts";

const ROWS = 10000;
const COLS = 200;
const N = 16;

const rand = rng(42);
const k = await instantiateKernels();
let top = k.heapBase;
/** Copies bytes into WASM memory (16-aligned) and returns the pointer. */
function put(a: ArrayBufferView): number {
  const p = (top + 15) & ~15;
  top = p + a.byteLength;
  ensureMemory(k, top);
  new Uint8Array(k.memory.buffer, p, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return p;
}

const w32 = put(randomF32(ROWS * COLS, rand, -0.1, 0.1));
const q8 = put(new Uint8Array(ROWS * COLS).map(() => Math.floor(rand(0, 256))));
const s8 = put(randomF32(ROWS, rand, 0.001, 0.01));
const q4 = put(new Uint8Array(ROWS * COLS / 2).map(() => Math.floor(rand(0, 256))));
const s4 = put(randomF32(ROWS * COLS / 32, rand, 0.001, 0.01));
const x = put(randomF32(COLS * N, rand));
const y = put(new Float32Array(ROWS * N));
const scratch = put(new Uint8Array(quantizedScratchBytes(COLS)));
const rx = k.relaxed;
const p8 = put(new Uint8Array(preparedTableBytes(8, ROWS, COLS, COLS)));
const p4 = put(new Uint8Array(preparedTableBytes(4, ROWS, COLS, 32)));
rx?.q8_prepare(q8, s8, ROWS, COLS, COLS, p8);
k.exports.q4_prepare(q4, s4, ROWS, COLS, 32, p4);
const c4 = p4 + q4PrepCodesOffset(ROWS, COLS, 32); // the biased codes the relaxed int4 products read

function csr(density: number) {
  const rowPtr = new Uint32Array(ROWS + 1);
  const idx: number[] = [];
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLS; c++) if (rand(0, 1) < density) idx.push(c);
    rowPtr[r + 1] = idx.length;
  }
  const nnz = idx.length;
  return {
    rowPtr: put(rowPtr),
    idx: put(Uint16Array.from(idx)),
    f32: put(randomF32(nnz, rand)),
    i8: put(new Uint8Array(nnz).map(() => Math.floor(rand(0, 256)))),
    scales: put(randomF32(Math.ceil(nnz / 64), rand, 0.001, 0.01)),
  };
}

Deno.bench("matvec_f32 10000×200", { group: "matvec", baseline: true }, () => {
  k.exports.matvec_f32(w32, ROWS, COLS, x, y);
});
Deno.bench("matvec_q8 10000×200 (int8 per row)", { group: "matvec" }, () => {
  k.exports.matvec_q8(q8, s8, ROWS, COLS, COLS, x, y, scratch);
});
Deno.bench("matvec_q4 10000×200 (int4 g32)", { group: "matvec" }, () => {
  k.exports.matvec_q4(q4, s4, ROWS, COLS, 32, x, y, scratch);
});
if (rx) {
  Deno.bench("matvec_q8r 10000×200 (int8 per row, relaxed SIMD)", { group: "matvec" }, () => {
    rx.matvec_q8r(q8, p8, ROWS, COLS, COLS, x, y, scratch);
  });
  Deno.bench("matvec_q4r 10000×200 (int4 g32, relaxed SIMD)", { group: "matvec" }, () => {
    rx.matvec_q4r(c4, p4, ROWS, COLS, 32, x, y, scratch);
  });
}
for (const density of [0.5, 0.2, 0.1]) {
  const m = csr(density);
  Deno.bench(`csr_matvec 10000×200 density ${density} (f32 values)`, { group: "matvec" }, () => {
    k.exports.csr_matvec(m.rowPtr, m.idx, 16, m.f32, 0, 0, 1, ROWS, x, y);
  });
  Deno.bench(`csr_matvec 10000×200 density ${density} (int8 g64 values)`, { group: "matvec" }, () => {
    k.exports.csr_matvec(m.rowPtr, m.idx, 16, m.i8, 2, m.scales, 64, ROWS, x, y);
  });
  if (density === 0.2) {
    Deno.bench(`csr_matmat 10000×200 density 0.2 × ${N} timesteps (f32 values)`, { group: "matmat" }, () => {
      k.exports.csr_matmat(m.rowPtr, m.idx, 16, m.f32, 0, 0, 1, ROWS, COLS, x, N, y);
    });
  }
}
Deno.bench(`matmat_f32 10000×200 × ${N} timesteps`, { group: "matmat", baseline: true }, () => {
  k.exports.matmat_f32(w32, ROWS, COLS, x, N, y);
});
Deno.bench(`matmat_q8 10000×200 × ${N} timesteps`, { group: "matmat" }, () => {
  k.exports.matmat_q8(q8, s8, ROWS, COLS, COLS, x, N, y, scratch);
});
Deno.bench(`matmat_q4 10000×200 × ${N} timesteps`, { group: "matmat" }, () => {
  k.exports.matmat_q4(q4, s4, ROWS, COLS, 32, x, N, y, scratch);
});
if (rx) {
  Deno.bench(`matmat_q8r 10000×200 × ${N} timesteps (relaxed SIMD)`, { group: "matmat" }, () => {
    rx.matmat_q8r(q8, p8, ROWS, COLS, COLS, x, N, y, scratch);
  });
  Deno.bench(`matmat_q4r 10000×200 × ${N} timesteps (relaxed SIMD)`, { group: "matmat" }, () => {
    rx.matmat_q4r(c4, p4, ROWS, COLS, 32, x, N, y, scratch);
  });
}
