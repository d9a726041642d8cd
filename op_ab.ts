import { irMatrix } from "./compiler/ir.ts";
import { encodeModelDense } from "./compiler/encoded.ts";
import { parseMethod } from "./compiler/recipe.ts";
import { methodFor } from "./compiler/methods/registry.ts";
import { writeLem } from "./compiler/writer.ts";
import { readLem } from "./runtime/format/read.ts";
import { ensureMemory, instantiateKernels } from "./runtime/kernels/kernels.ts";
import { matrixOperator, operatorScratchBytes } from "./runtime/operators/matrix_operator.ts";
import { randomIrModel } from "./runtime/format/test_fixtures.ts";
import { mulberry32 } from "./runtime/random.ts";
const [ROWS, COLS] = [+Deno.args[0], +Deno.args[1]];
const methods = Deno.args.slice(2);
const rand = mulberry32(3);
const w = irMatrix("decoder", ROWS, COLS, Float32Array.from({ length: ROWS * COLS }, () => 0.2 * rand() - 0.1));
const ir = randomIrModel(1, { vocab: ROWS, embed: 4, hidden: [COLS] });
const xs = Float32Array.from({ length: COLS }, () => rand() * 2 - 1);
const setups = [];
for (const method of methods) {
  const decoder = methodFor(parseMethod(method)).encode(w, parseMethod(method), "decoder").encoded;
  const bytes = writeLem({ ...encodeModelDense(ir, "f32", { name: "x", compiler: "x", recipe: "{}" }), decoder });
  const k = await instantiateKernels(undefined, true);
  let top = (k.heapBase + 63) & ~63;
  ensureMemory(k, top + bytes.length);
  new Uint8Array(k.memory.buffer, top, bytes.length).set(bytes);
  const info = readLem(new Uint8Array(k.memory.buffer, top, bytes.length)).decoder;
  top = (top + bytes.length + 63) & ~63;
  const sb = operatorScratchBytes(info, k);
  const x = (top + sb + 63) & ~63, y = x + 4 * COLS + 64;
  ensureMemory(k, y + 4 * ROWS + 64);
  const op = matrixOperator(info, k, top);
  new Float32Array(k.memory.buffer, x, COLS).set(xs);
  setups.push({ method, op, x, y, t: [] as number[] });
}
const REPS = Math.max(1, Math.round(2e6 / (ROWS * COLS)) * 4);
for (let r = 0; r < 40; r++) for (const s of setups) { const t0 = performance.now(); for (let j = 0; j < REPS; j++) s.op.matvec(s.x, s.y); s.t.push((performance.now() - t0) / REPS); }
const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
for (const s of setups) console.log(s.method.padEnd(16), (1000 * med(s.t.slice(8))).toFixed(2), "µs");
