import assert from "node:assert/strict";
import {
  compileKernelModule,
  ensureMemory,
  instantiateKernels,
  kernelWasmUrl,
  loadKernelBytes,
  relaxedWasmUrl,
  simdSupported,
} from "./kernels.ts";

const ABI = [
  "blocks_gather",
  "blocks_matmat",
  "blocks_matvec",
  "csr_gather",
  "csr_matmat",
  "csr_matvec",
  "f16_finite",
  "f16_interleave",
  "gather_f16",
  "gather_f32",
  "gather_q4",
  "gather_q8",
  "heap_base",
  "log_softmax",
  "lstm_cell",
  "matmat_f16",
  "matmat_f32",
  "matmat_f32_bias",
  "matmat_q4",
  "matmat_q8",
  "matvec_f16",
  "matvec_f32",
  "matvec_q4",
  "matvec_q8",
  "memory",
  "q4_prepare",
  "q8_interleave",
  "top_k",
  "tt_gather_f32",
  "tt_matmat_f32",
  "tt_matvec_f32",
  "vecmat_f32",
];

Deno.test("simdSupported() is true in Deno", () => {
  assert.equal(simdSupported(), true);
});

Deno.test("kernels.wasm imports nothing and exports exactly the ABI and its memory", async () => {
  const module = await compileKernelModule();
  assert.deepEqual(WebAssembly.Module.imports(module), []);
  assert.deepEqual(WebAssembly.Module.exports(module).map((e) => e.name).sort(), ABI);
  const memory = WebAssembly.Module.exports(module).find((e) => e.name === "memory");
  assert.equal(memory?.kind, "memory");
});

Deno.test("loadKernelBytes() reads build/kernels.wasm by fetch, and by Deno.readFile when fetch fails", async () => {
  const expected = await Deno.readFile(kernelWasmUrl);
  const asBytes = (b: BufferSource) =>
    new Uint8Array(ArrayBuffer.isView(b) ? b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) : b);
  assert.ok((await fetch(kernelWasmUrl)).ok, "Deno fetches file: URLs"); // so the first path is fetch
  assert.deepEqual(asBytes(await loadKernelBytes()), expected);
  const savedFetch = globalThis.fetch;
  globalThis.fetch = () => Promise.reject(new TypeError("fetch of file: URLs unsupported here"));
  try {
    assert.deepEqual(asBytes(await loadKernelBytes()), expected);
  } finally {
    globalThis.fetch = savedFetch;
  }
});

Deno.test("compileKernelModule() compiles once and returns the same module afterwards", async () => {
  assert.equal(await compileKernelModule(), await compileKernelModule());
});

Deno.test("instantiateKernels(module) instantiates without compiling anything (the Workers path)", async () => {
  const module = await compileKernelModule();
  const wasm = WebAssembly as unknown as Record<string, unknown>;
  const saved = {
    compile: wasm.compile,
    compileStreaming: wasm.compileStreaming,
    instantiate: wasm.instantiate,
  };
  const forbidden = () => {
    throw new Error("compiled WASM from bytes");
  };
  wasm.compile = forbidden;
  wasm.compileStreaming = forbidden;
  wasm.instantiate = (source: unknown, imports: WebAssembly.Imports) => {
    if (!(source instanceof WebAssembly.Module)) forbidden();
    return (saved.instantiate as typeof WebAssembly.instantiate)(source as WebAssembly.Module, imports);
  };
  try {
    const k = await instantiateKernels(module);
    assert.equal(typeof k.exports.matvec_f32, "function");
  } finally {
    Object.assign(wasm, saved);
  }
});

Deno.test("instantiateKernels(bytes) and instantiateKernels() give working, independent instances", async () => {
  const fromBytes = await instantiateKernels(await Deno.readFile(kernelWasmUrl));
  const fromFile = await instantiateKernels();
  assert.notEqual(fromBytes.memory, fromFile.memory);
  for (const k of [fromBytes, fromFile]) {
    // W = [[1, 2, 3], [4, 5, 6]], x = [1, 0, −1], y = [10, 20] → y = [8, 18]
    const w = k.heapBase, x = w + 24, y = x + 12;
    new Float32Array(k.memory.buffer).set([1, 2, 3, 4, 5, 6, 1, 0, -1, 10, 20], w / 4);
    k.exports.matvec_f32(w, 2, 3, x, y);
    assert.deepEqual([...new Float32Array(k.memory.buffer, y, 2)], [8, 18]);
  }
});

Deno.test("instantiateKernels(bytes, relaxed bytes) adds the relaxed module; bytes no engine compiles add none", async () => {
  const plain = await Deno.readFile(kernelWasmUrl);
  const withRelaxed = await instantiateKernels(plain, await Deno.readFile(relaxedWasmUrl));
  assert.equal(typeof withRelaxed.relaxed?.matvec_q4r, "function", "Deno compiles relaxed SIMD");
  for (const bad of [new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 99]), new Uint8Array(0)]) {
    const k = await instantiateKernels(plain, bad);
    assert.equal(k.relaxed, undefined);
    assert.equal(typeof k.exports.matvec_f32, "function");
  }
  assert.equal((await instantiateKernels(plain, false)).relaxed, undefined);
  // Not a BufferSource at all: a caller's mistake, reported rather than taken for "no relaxed SIMD".
  await assert.rejects(instantiateKernels(plain, "kernels_relaxed.wasm" as unknown as Uint8Array), TypeError);
});

Deno.test("heapBase is 16-byte aligned, inside the initial memory, and equals heap_base()", async () => {
  const k = await instantiateKernels();
  assert.equal(k.heapBase % 16, 0);
  assert.ok(k.heapBase > 0 && k.heapBase < k.memory.buffer.byteLength, `heapBase ${k.heapBase}`);
  assert.equal(k.heapBase, k.exports.heap_base());
});

Deno.test("ensureMemory grows to whole pages, keeps contents, and detaches old views", async () => {
  const k = await instantiateKernels();
  const before = k.memory.buffer.byteLength;
  const view = new Float32Array(k.memory.buffer, k.heapBase, 1);
  view[0] = 42;
  assert.equal(ensureMemory(k, before), false);
  assert.equal(ensureMemory(k, 64 << 20), true); // 64 MB: the memory has no small maximum
  assert.equal(k.memory.buffer.byteLength, 64 << 20);
  assert.equal(view.length, 0, "old views are detached after growing");
  assert.equal(new Float32Array(k.memory.buffer, k.heapBase, 1)[0], 42);
  assert.equal(ensureMemory(k, (64 << 20) + 1), true);
  assert.equal(k.memory.buffer.byteLength, (64 << 20) + 65536);
});
