/**
 * The kernels' own ratio benchmark: the decoder-shaped (10000 × 200) matrix × vector of every encoding,
 * through the runtime's operator for it (runtime/operators/), against a streaming read of the bytes that
 * encoding stores (tests/bench/probe.ts). A ratio near 1 means the product runs as fast as its bytes
 * can be read; far above 1, it is compute- or overhead-bound. Benchmarks are not tests.
 *
 *   deno run -A tests/bench/kernel_ratios.ts [--rounds N] [--markdown]
 *
 * Each round times every encoding once (4 products per sample) and, right after, a probe reading as many
 * bytes from a buffer of that encoding's own; the ratio is the median over rounds of product / probe, so
 * that machine drift cancels within a round. Matrix and buffer are touched once per round each, the other
 * encodings' traffic in between, so both start a sample equally cold. The weights are random (N(0, 0.1)-like, uniform): time does not depend on their values, only on
 * the encoding's structure (pruning keeps 20 % at random positions).
 * @module
 */
import { parseArgs } from "node:util";
import { irMatrix } from "../../compiler/ir.ts";
import { encodeModelDense } from "../../compiler/encoded.ts";
import { parseMethod } from "../../compiler/recipe.ts";
import { methodFor } from "../../compiler/methods/registry.ts";
import { writeLem } from "../../compiler/writer.ts";
import { describeEncoding, readLem } from "../../runtime/format/read.ts";
import { ensureMemory, instantiateKernels, type KernelInstance } from "../../runtime/kernels/kernels.ts";
import { matrixOperator, operatorScratchBytes } from "../../runtime/operators/matrix_operator.ts";
import { randomIrModel } from "../../runtime/format/test_fixtures.ts";
import { mulberry32 } from "../../runtime/random.ts";
import { readProbe } from "./probe.ts";

const ROWS = 10000;
const COLS = 200;

/** The encodings measured: [label, method, relaxed SIMD, target ratio]. */
export const ENCODINGS: readonly [string, string, boolean, number][] = [
  ["f32", "f32", false, 2],
  ["f16 (plain SIMD)", "f16", false, 3],
  ["f16 (relaxed SIMD: fused multiply-add)", "f16", true, 3],
  ["int8 per row (plain SIMD)", "int8", false, 2],
  ["int8 per row (relaxed SIMD)", "int8", true, 2],
  ["int4 g32 (plain SIMD)", "int4", false, 3],
  ["int4 g32 (relaxed SIMD)", "int4", true, 3],
  ["int4 g128 (relaxed SIMD)", "int4:g128", true, 3],
  ["low rank 64, int8", "lowrank:64+int8", true, 3],
  ["TT rank 16, int8 cores", "tt:16+int8", true, 3],
  ["CSR 20 %, int8", "prune:0.8+int8", true, 3],
  ["blocks 4×8 20 %, int8", "prune:0.8:b4x8+int8", true, 3],
  ["blocks 4×16 20 %, int8", "prune:0.8:b4x16+int8", true, 3],
];

/** One encoding's decoder, loaded in `k`'s memory behind its operator. */
function load(k: KernelInstance, method: string, seed: number) {
  const rand = mulberry32(seed);
  const ir = randomIrModel(seed, { vocab: ROWS, embed: 4, hidden: [COLS] });
  const w = irMatrix(
    "decoder",
    ROWS,
    COLS,
    Float32Array.from({ length: ROWS * COLS }, () => 0.2 * rand() - 0.1),
  );
  const decoder = methodFor(parseMethod(method)).encode(w, parseMethod(method), "decoder").encoded;
  const model = {
    ...encodeModelDense(ir, "f32", { name: "ratios", compiler: "bench", recipe: "{}" }),
    decoder,
  };
  const bytes = writeLem(model);
  let top = (k.heapBase + 63) & ~63;
  ensureMemory(k, top + bytes.length);
  new Uint8Array(k.memory.buffer, top, bytes.length).set(bytes);
  const file = readLem(new Uint8Array(k.memory.buffer, top, bytes.length));
  top = (top + bytes.length + 63) & ~63;
  const info = file.decoder;
  const scratch = top;
  const x = (scratch + operatorScratchBytes(info, k) + 63) & ~63;
  const y = x + 4 * COLS + 64;
  ensureMemory(k, y + 4 * ROWS);
  new Float32Array(k.memory.buffer, x, COLS).set(Float32Array.from({ length: COLS }, () => 2 * rand() - 1));
  const op = matrixOperator(info, k, scratch);
  return { op, x, y, bytes: info.bytes, encoding: describeEncoding(info) };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string" },
      markdown: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(`usage: deno run -A tests/bench/kernel_ratios.ts [--rounds N] [--markdown]

The decoder-shaped (10000 × 200) matrix × vector of every encoding against a streaming read of its stored
bytes, interleaved rounds (default 101); prints JSON, or with --markdown the table in
runtime/kernels/README.md. A benchmark, not a test.`);
    Deno.exit(0);
  }
  const rounds = Number(values.rounds ?? 101);
  const rows = [];
  for (const [i, [label, method, relaxed, target]] of ENCODINGS.entries()) {
    // A kernel instance per encoding: each holds only its own matrix (as a loaded model would).
    const k = await instantiateKernels(undefined, relaxed);
    if (relaxed && !k.relaxed) throw new Error("relaxed SIMD is not supported here");
    rows.push({ label, target, ...load(k, method, i + 1), times: [] as number[], probes: [] as number[] });
  }
  // A probe per encoding, over a buffer of its own: in each round the matrix and its probe's buffer are
  // touched once each, with the other encodings' traffic in between, so both start equally cold (one probe
  // buffer shared by all would stay in cache while each matrix is evicted by the other twelve).
  const probes = rows.map((r) => readProbe(new Uint8Array(r.bytes + 256).map((_, i) => i)));
  const REPS = 4;
  for (let round = -5; round < rounds; round++) {
    for (const [i, r] of rows.entries()) {
      const t0 = performance.now();
      for (let i = 0; i < REPS; i++) r.op.matvec(r.x, r.y);
      const t = (performance.now() - t0) / REPS;
      const p = probes[i].read(r.bytes, REPS);
      if (round < 0) continue; // warm-up (JIT tier-up)
      r.times.push(t);
      r.probes.push(p);
    }
  }
  const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
  const results = rows.map((r) => ({
    label: r.label,
    encoding: r.encoding,
    bytes: r.bytes,
    us: 1000 * median(r.times),
    probeUs: 1000 * median(r.probes),
    ratio: median(r.times.map((t, i) => t / r.probes[i])),
    target: r.target,
  }));
  if (values.markdown) {
    console.log("| encoding (10000 × 200) | stored bytes | matvec µs | read µs | matvec / read | target |");
    console.log("| --- | ---: | ---: | ---: | ---: | --- |");
    for (const r of results) {
      console.log(
        `| ${r.label} | ${r.bytes.toLocaleString("en-US")} | ${r.us.toFixed(1)} | ${r.probeUs.toFixed(1)} | ${
          r.ratio.toFixed(2)
        } | ≤ ${r.target} ${r.ratio <= r.target ? "met" : "**missed**"} |`,
      );
    }
  } else console.log(JSON.stringify(results, null, 1));
}
