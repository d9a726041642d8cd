/**
 * Builds runtime/kernels/build/kernels.wasm from the AssemblyScript sources in runtime/kernels/as/.
 *
 * Run it with `deno task build:kernels`. The output is committed; build.test.ts rebuilds and fails when the
 * committed bytes are stale. The compiler (assemblyscript, with its pinned binaryen) runs in-process and the
 * build is deterministic: same sources + same compiler version → same bytes, whatever the working directory.
 * @module
 */

import asc from "assemblyscript/asc";

const kernelsDir = new URL(".", import.meta.url);

/** URL of the committed module. */
export const kernelWasmOutUrl: URL = new URL("./build/kernels.wasm", import.meta.url);

/**
 * The compiler flags, each for a reason:
 * - `-O3`: optimize for speed (binaryen -O3, shrink level 0); the module stays under its 48 KB budget.
 * - `--runtime stub`: no garbage collector. The kernels never allocate; they work on raw pointers.
 * - `--enable simd`: SIMD128 only — no relaxed SIMD, no threads, so it runs wherever WASM SIMD does.
 * - `--noAssert`, `--use abort=`: no assertion code and no `env.abort` import, so the module needs no
 *   imports at all: `new WebAssembly.Instance(module, {})`.
 * The memory is exported as `memory`, starts at one page and has no maximum, so JS can grow it.
 */
export const ascFlags: readonly string[] = [
  "as/index.ts",
  "--baseDir",
  decodeURIComponent(kernelsDir.pathname),
  "--outFile",
  "kernels.wasm",
  "-O3",
  "--runtime",
  "stub",
  "--enable",
  "simd",
  "--noAssert",
  "--use",
  "abort=",
];

/** Compiles the kernels and returns the module's bytes (nothing is written). Throws with asc's diagnostics. */
export async function buildKernels(): Promise<Uint8Array> {
  let wasm: Uint8Array | undefined;
  const { error, stderr } = await asc.main([...ascFlags], {
    writeFile(name: string, contents: Uint8Array | string) {
      if (name.endsWith(".wasm") && typeof contents !== "string") wasm = contents;
    },
  });
  if (error || !wasm) {
    throw new Error(
      `AssemblyScript build of runtime/kernels/as failed: ${error?.message ?? "no output"}\n${stderr}`,
    );
  }
  return wasm;
}

/** Writes `bytes` to `out` atomically: a temp file beside it, then a rename (never a truncated module). */
export async function writeAtomically(out: URL | string, bytes: Uint8Array): Promise<void> {
  const path = out instanceof URL ? decodeURIComponent(out.pathname) : out;
  const tmp = `${path}.${Deno.pid}.tmp`;
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
}

// Usage: deno run -A runtime/kernels/build.ts [--out PATH]   (default: runtime/kernels/build/kernels.wasm)
if (import.meta.main) {
  const at = Deno.args.indexOf("--out");
  if (at >= 0 && !Deno.args[at + 1]) throw new Error("--out needs a path");
  const out = at >= 0 ? Deno.args[at + 1] : decodeURIComponent(kernelWasmOutUrl.pathname);
  const bytes = await buildKernels();
  await Deno.mkdir(out.slice(0, out.lastIndexOf("/") + 1) || ".", { recursive: true });
  await writeAtomically(out, bytes);
  console.log(`wrote ${out} (${bytes.length} bytes)`);
}
