/**
 * One cold start, run by `deno task bench` in a fresh `deno run` process per measurement (a new process,
 * not a Worker: V8 shares compiled WebAssembly between isolates of one process, which would make every
 * start after the first warm).
 *
 * Untimed: reading the model file and the engine's `.wasm` file into memory, and importing the engine's
 * entry JS module (timed separately as importMs). Timed (coldStartMs), from bytes in memory to the first
 * next-token output:
 * - ours: `LstmModel.load(modelBytes, { kernels: wasmBytes, relaxedKernels: relaxedBytes })` — WebAssembly
 *   compile + instantiate of both kernel modules (the relaxed-SIMD one where the engine validates it, as
 *   every deployment loads it), file verification and copy into WASM memory — then `createState`, `feed` of
 *   one token and `logProbs` (which write the relaxed products' prepared tables and sliced copies).
 * - onnxruntime-web: `env.wasm.wasmBinary = wasmBytes` (so that nothing is fetched), then
 *   `InferenceSession.create(onnxBytes)` — which imports ORT's emscripten glue (ort-wasm-simd-threaded.mjs),
 *   compiles and instantiates its WebAssembly and builds the session — then one `session.run` of one token
 *   with zero h0/c0.
 *
 * Argument: one JSON object {engine: "ours" | "ort", model, wasm, relaxed? (ours: the relaxed module's
 * path), token, ort?: {tokens, state: [{name, dims}], logits}}. Prints one JSON line: {coldStartMs, importMs, argmax}.
 * @module
 */

interface Spec {
  engine: "ours" | "ort";
  model: string;
  wasm: string;
  relaxed?: string;
  token: number;
  ort?: { tokens: string; state: { name: string; dims: number[] }[]; logits: string };
}

function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

const spec: Spec = JSON.parse(Deno.args[0]);
const model = await Deno.readFile(spec.model);
const wasm = await Deno.readFile(spec.wasm);
const relaxed = spec.relaxed ? await Deno.readFile(spec.relaxed) : false;

let t0 = performance.now();
let coldStartMs: number;
let importMs: number;
let top: number;
if (spec.engine === "ours") {
  const { LstmModel } = await import("../../runtime/model.ts");
  importMs = performance.now() - t0;
  t0 = performance.now();
  const lm = await LstmModel.load(model, { kernels: wasm, relaxedKernels: relaxed });
  const state = lm.createState();
  lm.feed(state, spec.token);
  const logProbs = lm.logProbs(state);
  coldStartMs = performance.now() - t0;
  top = argmax(logProbs);
} else {
  const ort = await import("onnxruntime-web");
  importMs = performance.now() - t0;
  const layout = spec.ort!;
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = "error";
  t0 = performance.now();
  ort.env.wasm.wasmBinary = wasm;
  const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
  const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
    [layout.tokens]: new ort.Tensor("int64", BigInt64Array.of(BigInt(spec.token)), [1, 1]),
  };
  for (const s of layout.state) {
    feeds[s.name] = new ort.Tensor("float32", new Float32Array(s.dims[0] * s.dims[1] * s.dims[2]), s.dims);
  }
  const out = await session.run(feeds);
  const logits = out[layout.logits].data as Float32Array;
  coldStartMs = performance.now() - t0;
  top = argmax(logits);
}
console.log(JSON.stringify({ coldStartMs, importMs, argmax: top }));
