/**
 * Decoder-shaped matvec, 10000 × 200 (PTB-small's output layer): WASM SIMD f32 / f16 against the
 * TypeScript references. Run: deno bench -A runtime/kernels/matvec.bench.ts. Benchmarks are not tests;
 * compare ratios within one run (absolute times drift between runs on shared machines).
 */

import { ensureMemory, instantiateKernels } from "./kernels.ts";
import { matvecF16, matvecF32 } from "./matvec.ref.ts";
import { matmatF32 } from "./matmat.ref.ts";
import { f16ScratchBytes } from "./scratch.ts";
import { randomF16, randomF32, rng } from "./testing.ts";

const ROWS = 10000;
const COLS = 200;
const N = 16; // timesteps for the matmat comparison

const rand = rng(42);
const w32 = randomF32(ROWS * COLS, rand, -0.1, 0.1);
const w16 = randomF16(ROWS * COLS, rand, -0.1, 0.1);
const x = randomF32(COLS * N, rand);
const y = new Float32Array(ROWS * N);

const k = await instantiateKernels();
const pw32 = k.heapBase;
const pw16 = pw32 + w32.byteLength;
const px = pw16 + w16.byteLength;
const py = px + x.byteLength;
const scratch = py + y.byteLength; // the f16 products' prepared x (fast path)
ensureMemory(k, scratch + f16ScratchBytes(COLS));
new Float32Array(k.memory.buffer, pw32, w32.length).set(w32);
new Uint16Array(k.memory.buffer, pw16, w16.length).set(w16);
new Float32Array(k.memory.buffer, px, x.length).set(x);

Deno.bench("matvec_f32 10000×200 (WASM SIMD)", { group: "f32", baseline: true }, () => {
  k.exports.matvec_f32(pw32, ROWS, COLS, px, py);
});
Deno.bench("matvecF32 10000×200 (TS reference)", { group: "f32" }, () => {
  matvecF32(w32, ROWS, COLS, x, y);
});
Deno.bench("matvec_f16 10000×200 (WASM SIMD)", { group: "f16", baseline: true }, () => {
  k.exports.matvec_f16(pw16, ROWS, COLS, px, py, scratch, 1);
});
Deno.bench("matvecF16 10000×200 (TS reference)", { group: "f16" }, () => {
  matvecF16(w16, ROWS, COLS, x, y);
});
Deno.bench(`matmat_f32 10000×200 × ${N} timesteps (WASM SIMD)`, {
  group: "seq",
  baseline: true,
  n: 1,
}, () => {
  k.exports.matmat_f32(pw32, ROWS, COLS, px, N, py);
});
Deno.bench(`${N} × matvec_f32 10000×200 (WASM SIMD)`, { group: "seq" }, () => {
  for (let t = 0; t < N; t++) k.exports.matvec_f32(pw32, ROWS, COLS, px + t * COLS * 4, py + t * ROWS * 4);
});
Deno.bench(`matmat_f16 10000×200 × ${N} timesteps (WASM SIMD)`, { group: "seq" }, () => {
  k.exports.matmat_f16(pw16, ROWS, COLS, px, N, py, scratch, 1);
});
Deno.bench(`matmatF32 10000×200 × ${N} timesteps (TS reference)`, { group: "seq" }, () => {
  matmatF32(w32, ROWS, COLS, x, N, y);
});
