/**
 * Speed of the quantized products as ratios against `matvec_f32` / `matmat_f32` measured in the same run,
 * interleaved (each round runs every kernel once, in turn), on the decoder (10000 × 200) and LSTM
 * (800 × 200) shapes of PTB-small: int8 per row, int4 g32 and g64, plain SIMD (kernels.wasm, int16
 * activations; int4 also over q4_prepare's table) and relaxed SIMD (kernels_relaxed.wasm). Absolute times on a shared machine drift several-fold from
 * minute to minute (memory bandwidth most of all: f32 on the decoder is bandwidth-bound, the quantized
 * products are not), so it prints for each kernel the median over rounds of f32's time / its time, the
 * median and minimum of its time, and min f32 / its min. Benchmarks are not tests.
 *
 *   deno run -A runtime/kernels/quantized_ratios.ts [--rounds N] [--matmat] [--old OLD.wasm]
 *
 * `--old` adds the products of another kernels.wasm (e.g. `git show REV:runtime/kernels/build/kernels.wasm`)
 * to the same rounds, for before/after ratios.
 * @module
 */
import { preparedTableBytes, q4PrepCodesOffset, quantizedScratchBytes } from "./scratch.ts";
import { parseArgs } from "node:util";
import { ensureMemory, instantiateKernels, type KernelInstance } from "./kernels.ts";
import { randomF32, rng } from "./testing.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string" }, matmat: { type: "boolean" }, old: { type: "string" } },
});
const ROUNDS = Number(values.rounds ?? 201);
const N = 16; // timesteps for --matmat

/** Places a shape's operands in k's memory. */
function operands(k: KernelInstance, rows: number, cols: number) {
  const rand = rng(42);
  let top = k.heapBase;
  const put = (a: ArrayBufferView) => {
    const p = (top + 63) & ~63;
    top = p + a.byteLength;
    ensureMemory(k, top);
    new Uint8Array(k.memory.buffer, p, a.byteLength).set(
      new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
    );
    return p;
  };
  const o = {
    w32: put(randomF32(rows * cols, rand, -0.1, 0.1)),
    q8: put(new Uint8Array(rows * cols).map(() => rand(0, 256))),
    s8: put(randomF32(rows, rand, 0.001, 0.01)),
    q4: put(new Uint8Array(rows * cols / 2).map(() => rand(0, 256))),
    s4: put(randomF32(rows * cols / 32, rand, 0.001, 0.01)),
    s64: put(randomF32(rows * cols / 64, rand, 0.001, 0.01)),
    p8: put(new Uint8Array(preparedTableBytes(8, rows, cols, cols))),
    p4: put(new Uint8Array(preparedTableBytes(4, rows, cols, 32))),
    p64: put(new Uint8Array(preparedTableBytes(4, rows, cols, 64))),
    x: put(randomF32(cols * N, rand)),
    y: put(new Float32Array(rows * N)),
    scratch: put(new Uint8Array(quantizedScratchBytes(cols))),
  };
  k.relaxed?.q8_prepare(o.q8, o.s8, rows, cols, cols, o.p8);
  k.exports.q4_prepare(o.q4, o.s4, rows, cols, 32, o.p4);
  k.exports.q4_prepare(o.q4, o.s64, rows, cols, 64, o.p64);
  // The relaxed int4 products read the biased codes q4_prepare copied into its table (the plain one the table).
  return {
    ...o,
    c4: o.p4 + q4PrepCodesOffset(rows, cols, 32),
    c64: o.p64 + q4PrepCodesOffset(rows, cols, 64),
  };
}

/** The kernels to time on one shape: name → one call (matvec, or matmat over N timesteps). */
function kernels(k: KernelInstance, rows: number, cols: number, label = ""): Record<string, () => void> {
  const o = operands(k, rows, cols);
  const e = k.exports;
  const r = k.relaxed;
  const out: Record<string, () => void> = {};
  if (values.matmat) {
    if (!label) out.f32 = () => e.matmat_f32(o.w32, rows, cols, o.x, N, o.y);
    out[`${label}q8`] = () => e.matmat_q8(o.q8, o.s8, rows, cols, cols, o.x, N, o.y, o.scratch);
    out[`${label}q4 g32`] = () => e.matmat_q4(o.q4, o.s4, rows, cols, 32, o.x, N, o.y, o.scratch);
    out[`${label}q4 g64`] = () => e.matmat_q4(o.q4, o.s64, rows, cols, 64, o.x, N, o.y, o.scratch);
    if (r && !label) {
      out["q8 relaxed"] = () => r.matmat_q8r(o.q8, o.p8, rows, cols, cols, o.x, N, o.y, o.scratch);
      out["q4 g32 relaxed"] = () => r.matmat_q4r(o.c4, o.p4, rows, cols, 32, o.x, N, o.y, o.scratch);
      out["q4 g64 relaxed"] = () => r.matmat_q4r(o.c64, o.p64, rows, cols, 64, o.x, N, o.y, o.scratch);
    }
  } else {
    if (!label) out.f32 = () => e.matvec_f32(o.w32, rows, cols, o.x, o.y);
    out[`${label}q8`] = () => e.matvec_q8(o.q8, o.s8, rows, cols, cols, o.x, o.y, o.scratch);
    out[`${label}q4 g32`] = () => e.matvec_q4(o.q4, o.s4, rows, cols, 32, o.x, o.y, o.scratch);
    out[`${label}q4 g64`] = () => e.matvec_q4(o.q4, o.s64, rows, cols, 64, o.x, o.y, o.scratch);
    if (!label) {
      // The plain int4 product over q4_prepare's table (what the store operator runs without relaxed SIMD).
      out["q4 g32 prepared"] = () => e.matvec_q4(o.q4, o.s4, rows, cols, 32, o.x, o.y, o.scratch, o.p4);
      out["q4 g64 prepared"] = () => e.matvec_q4(o.q4, o.s64, rows, cols, 64, o.x, o.y, o.scratch, o.p64);
    }
    if (r && !label) {
      out["q8 relaxed"] = () => r.matvec_q8r(o.q8, o.p8, rows, cols, cols, o.x, o.y, o.scratch);
      out["q4 g32 relaxed"] = () => r.matvec_q4r(o.c4, o.p4, rows, cols, 32, o.x, o.y, o.scratch);
      out["q4 g64 relaxed"] = () => r.matvec_q4r(o.c64, o.p64, rows, cols, 64, o.x, o.y, o.scratch);
    }
  }
  return out;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];

const k = await instantiateKernels(undefined, true);
const old = values.old ? await instantiateKernels(await Deno.readFile(values.old), false) : undefined;
console.log(
  `${values.matmat ? `matmat over ${N} timesteps (times per timestep)` : "matvec"}, ${ROUNDS} rounds; ` +
    `relaxed SIMD ${k.relaxed ? "loaded" : "not supported here"}`,
);
for (const [rows, cols] of [[10000, 200], [800, 200]]) {
  const fns = { ...kernels(k, rows, cols), ...(old ? kernels(old, rows, cols, "old ") : {}) };
  const reps = rows > 5000 || values.matmat ? 1 : 4; // LSTM-shaped calls are short: time 4 per sample
  const per = (values.matmat ? N : 1) * reps;
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(fns).map((n) => [n, []]));
  for (let round = 0; round < ROUNDS + 5; round++) {
    for (const [name, f] of Object.entries(fns)) {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) f();
      if (round >= 5) times[name].push((performance.now() - t0) / per); // the first rounds warm up
    }
  }
  console.log(
    `\n${rows}×${cols}               median µs   min µs   f32/this (median of rounds)   min f32/min`,
  );
  const f32Min = Math.min(...times.f32);
  for (const [name, t] of Object.entries(times)) {
    const ratio = median(times.f32.map((f, i) => f / t[i]));
    const min = Math.min(...t);
    console.log(
      `  ${name.padEnd(16)} ${(median(t) * 1000).toFixed(1).padStart(10)} ${
        (min * 1000).toFixed(1).padStart(8)
      }` +
        `   ${ratio.toFixed(2).padStart(8)}                      ${(f32Min / min).toFixed(2).padStart(6)}`,
    );
  }
}
