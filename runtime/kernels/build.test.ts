import assert from "node:assert/strict";
import { fromFileUrl } from "./testing.ts";
import { kernelWasmOutUrl, relaxedWasmOutUrl } from "./build.ts";

Deno.test("build/kernels.wasm and kernels_relaxed.wasm are what build.ts makes from as/ now (else stale: run deno task build:kernels)", async () => {
  // Rebuild with the real command into a temp dir, from another working directory (the bytes must not
  // depend on it).
  const dir = await Deno.makeTempDir({ prefix: "kernels-build-" });
  try {
    const out = `${dir}/kernels.wasm`;
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--config",
        fromFileUrl(new URL("../../deno.json", import.meta.url)),
        fromFileUrl(new URL("./build.ts", import.meta.url)),
        "--out",
        out,
      ],
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, `build.ts failed:\n${new TextDecoder().decode(stderr)}`);
    for (
      const [built, url] of [[out, kernelWasmOutUrl], [
        `${dir}/kernels_relaxed.wasm`,
        relaxedWasmOutUrl,
      ]] as const
    ) {
      const rebuilt = await Deno.readFile(built);
      const committed = await Deno.readFile(url);
      assert.ok(
        rebuilt.length === committed.length && rebuilt.every((b, i) => b === committed[i]),
        `stale ${url.pathname}: run deno task build:kernels (rebuilt ${rebuilt.length} bytes, committed ${committed.length} bytes differ)`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// 48 KB: dense, quantized (int8/int4 × matvec/matmat/gather) and CSR (2 index widths × 4 value types ×
// 3 products, each specialized) kernels, with room for low-rank/TT; the whole runtime (worker.js + both
// kernel modules, without the model) must stay under 150 kB (WORKER_BUDGET_BYTES, checked by
// runtime/entries/worker.test.ts).
Deno.test("build/kernels.wasm stays under its 48 KB size budget", async () => {
  const { size } = await Deno.stat(kernelWasmOutUrl);
  assert.ok(size < 48 * 1024, `kernels.wasm is ${size} bytes; the budget is 48 KB`);
});

// 26 KB: the optional module beside kernels.wasm — int8/int4 × matvec/matmat, f16 matvec and matmat, sliced
// CSR, the TT products and the f32 matmat with relaxed SIMD (12 KB until the TT products moved in, 16 KB
// until the f32 matmat did, 20 KB until the TT steps' eight-row passes and the blocks' i16 dot products:
// 20,516 bytes then; 24 KB until the f16 matmat: 23,800 bytes then, 25,705 after it; 24,411 once maxAbs
// stopped being inlined into every product, 25,321 with int8's i16 dot products; the binding limit is the
// runtime's 150 kB total).
Deno.test("build/kernels_relaxed.wasm stays under its 26 KB size budget and imports only the memory", async () => {
  const bytes = await Deno.readFile(relaxedWasmOutUrl);
  assert.ok(bytes.length < 26 * 1024, `kernels_relaxed.wasm is ${bytes.length} bytes; the budget is 26 KB`);
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(bytes));
  assert.deepEqual(imports, [{ module: "env", name: "memory", kind: "memory" }]);
});
