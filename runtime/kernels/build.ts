/**
 * Builds runtime/kernels/build/kernels.wasm (entry as/index.ts) and the optional relaxed-SIMD module
 * build/kernels_relaxed.wasm (entry as/relaxed.ts, which imports kernels.wasm's memory) from the
 * AssemblyScript sources in runtime/kernels/as/.
 *
 * Run it with `deno task build:kernels`. The outputs are committed; build.test.ts rebuilds and fails when
 * the committed bytes are stale. The compiler (assemblyscript, with its pinned binaryen) runs in-process and the
 * build is deterministic: same sources + same compiler version → same bytes, whatever the working directory.
 * @module
 */

import asc from "assemblyscript/asc";
import { parseCli } from "../cli/args.ts";

const kernelsDir = new URL(".", import.meta.url);

/** URL of the committed module. */
export const kernelWasmOutUrl: URL = new URL("./build/kernels.wasm", import.meta.url);
/** URL of the committed relaxed-SIMD module. */
export const relaxedWasmOutUrl: URL = new URL("./build/kernels_relaxed.wasm", import.meta.url);

/** The relaxed module's path beside the main module's: kernels.wasm → kernels_relaxed.wasm. */
export function relaxedPathFor(mainPath: string): string {
  return mainPath.replace(/(\.wasm)?$/, "_relaxed.wasm");
}

/**
 * The compiler flags, each for a reason:
 * - `-O3`: optimize for speed (binaryen -O3, shrink level 0); the module stays under its 48 KB budget.
 * - `--runtime stub`: no garbage collector. The kernels never allocate; they work on raw pointers.
 * - `--enable simd`: SIMD128 only — no relaxed SIMD, no threads, so it runs wherever WASM SIMD does.
 * - `--noAssert`, `--use abort=`: no assertion code and no `env.abort` import, so the module needs no
 *   imports at all: `new WebAssembly.Instance(module, {})`.
 * - `--initialMemory 1`: the memory starts at one page even with no static data (the kernels have none since
 *   they stopped using the standard library's exp/log tables), so heap_base() lies inside it.
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
  "--initialMemory",
  "1",
];

/**
 * The relaxed module's flags: as above, plus `relaxed-simd` (i8 × i7 dot products) and `--importMemory`:
 * it imports kernels.wasm's memory as `env.memory` and has no data of its own (a data segment would
 * overwrite kernels.wasm's static data), so it must be instantiated with `{ env: { memory } }`. Its
 * `--initialMemory 1` declares the import's minimum as one page (kernels.wasm's memory has at least that):
 * where V8 checks bounds explicitly (Deno: no trap handler) an access whose end offset lies below the
 * declared minimum needs one comparison instead of two — with a minimum of 0 every load in the int4 loop
 * carried 5 instructions of checks, now 3 (the int4 decoder product 39.5 → 35.8 µs cold).
 */
export const relaxedAscFlags: readonly string[] = [
  "as/relaxed.ts",
  "--baseDir",
  decodeURIComponent(kernelsDir.pathname),
  "--outFile",
  "kernels_relaxed.wasm",
  "-O3",
  "--runtime",
  "stub",
  "--enable",
  "simd,relaxed-simd",
  "--importMemory",
  "--noAssert",
  "--use",
  "abort=",
  "--initialMemory",
  "1",
];

/** Compiles the kernels and returns the module's bytes (nothing is written). Throws with asc's diagnostics. */
export function buildKernels(): Promise<Uint8Array> {
  return compile(ascFlags);
}

/** Compiles the relaxed-SIMD kernels (as/relaxed.ts) and returns the module's bytes. */
export async function buildRelaxedKernels(): Promise<Uint8Array> {
  const wasm = await compile(relaxedAscFlags);
  const module = new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>);
  const imports = WebAssembly.Module.imports(module);
  if (imports.length !== 1 || imports[0].kind !== "memory" || hasDataSection(wasm)) {
    throw new Error(
      `kernels_relaxed.wasm must import only env.memory and hold no data, found imports ${
        JSON.stringify(imports)
      }${hasDataSection(wasm) ? " and a data section" : ""}`,
    );
  }
  return wasm;
}

/** Whether a WASM binary has a data section (id 11). */
function hasDataSection(wasm: Uint8Array): boolean {
  let i = 8;
  while (i < wasm.length) {
    const id = wasm[i++];
    let size = 0;
    for (let shift = 0;; shift += 7) {
      const b = wasm[i++];
      size |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    if (id === 11 && size > 1) return true;
    i += size;
  }
  return false;
}

async function compile(flags: readonly string[]): Promise<Uint8Array> {
  let wasm: Uint8Array | undefined;
  const { error, stderr } = await asc.main([...flags], {
    writeFile(name: string, contents: Uint8Array | string) {
      if (name.endsWith(".wasm") && typeof contents !== "string") wasm = contents;
    },
  });
  if (error || !wasm) {
    throw new Error(
      `AssemblyScript build of runtime/kernels/${flags[0]} failed: ${
        error?.message ?? "no output"
      }\n${stderr}`,
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

// Usage: deno run -A runtime/kernels/build.ts [--out PATH]   (default: runtime/kernels/build/kernels.wasm;
// the relaxed module goes beside it, PATH with "_relaxed" before ".wasm")
const USAGE = "deno task build:kernels [--out FILE.wasm]";
const HELP = `
usage: ${USAGE}

Compiles the AssemblyScript kernels (runtime/kernels/as/) into kernels.wasm (SIMD128) and
kernels_relaxed.wasm (relaxed SIMD, beside it). The outputs are committed; build.test.ts fails when
they are stale.

  --out FILE.wasm  where to write kernels.wasm (default: runtime/kernels/build/kernels.wasm); the
                   relaxed module goes beside it as FILE_relaxed.wasm
  -h, --help       this text
`;

if (import.meta.main) {
  const { values } = parseCli(Deno.args, { out: { type: "string" } }, HELP);
  const out = values.out ?? decodeURIComponent(kernelWasmOutUrl.pathname);
  const main = await buildKernels();
  const relaxed = await buildRelaxedKernels(); // one asc run at a time
  await Deno.mkdir(out.slice(0, out.lastIndexOf("/") + 1) || ".", { recursive: true });
  for (const [path, bytes] of [[out, main], [relaxedPathFor(out), relaxed]] as const) {
    await writeAtomically(path, bytes);
    console.log(`wrote ${path} (${bytes.length} bytes)`);
  }
}
