/**
 * `deno task build:worker [MODEL.lem] [--out DIR] [--limits JSON]`: everything Cloudflare Workers or a
 * local workerd needs to serve the app, in DIR (default dist/worker):
 *
 *   worker.js         the app and runtime, one ES module (esbuild), imports the three below
 *   kernels.wasm      the kernels, a WebAssembly module the platform compiles at deploy/load time
 *   kernels_relaxed.wasm  the relaxed-SIMD int8/int4 products (imports kernels.wasm's memory), likewise
 *   model.lem         the model, a data module (ArrayBuffer)
 *   demo-runtime.txt  the runtime bundled for browsers (the demo's offline mode), a text module
 *   workerd.capnp     `npx workerd serve DIR/workerd.capnp --socket-addr http=127.0.0.1:8787`
 *   wrangler.toml     `npx wrangler deploy` from DIR (uploads the same modules, no rebundling)
 * @module
 */
import { parseCli, readInput, runCli, UsageError } from "../cli/args.ts";
import { resolveLimits } from "../app/limits.ts";
import { bundleBrowserRuntime, bundleWorker, stopBundler, WORKER_MODULES } from "./bundle.ts";

/** The runtime's size budget: worker.js + kernels.wasm + kernels_relaxed.wasm, without the model, under 150 kB. */
export const WORKER_BUDGET_BYTES = 150_000;
/** Compatibility date for workerd and wrangler (must not be later than the workerd release). */
export const COMPATIBILITY_DATE = "2025-09-01";

const SHIPPED = "models/ptb-small.lem";
const USAGE = "deno task build:worker [MODEL.lem] [--out DIR] [--limits JSON]";
const HELP = `
usage: ${USAGE}

Bundles the app for Cloudflare Workers / workerd with one model (default ${SHIPPED}) into DIR
(default dist/worker): worker.js, kernels.wasm, kernels_relaxed.wasm, model.lem, demo-runtime.txt,
workerd.capnp, wrangler.toml.
Serve it locally:  npx workerd serve DIR/workerd.capnp --socket-addr http=127.0.0.1:8787
Deploy it:         cd DIR && npx wrangler deploy

  --out DIR       output folder (default dist/worker)
  --limits JSON   request limits baked into the worker (see deno task serve --help)
  -h, --help      this text
`;

function capnp(): string {
  const m = WORKER_MODULES;
  return `# workerd config for lstm-edge (written by deno task build:worker).
# npx workerd serve workerd.capnp --socket-addr http=127.0.0.1:8787
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .lstmEdge)],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);

const lstmEdge :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "${m.kernels}", wasm = embed "${m.kernels}"),
    (name = "${m.relaxed}", wasm = embed "${m.relaxed}"),
    (name = "${m.model}", data = embed "${m.model}"),
    (name = "${m.browser}", text = embed "${m.browser}"),
  ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
);
`;
}

function wranglerToml(): string {
  return `# Cloudflare Workers deployment of the same bundle: cd into this folder, then npx wrangler deploy
name = "lstm-edge"
main = "worker.js"
compatibility_date = "${COMPATIBILITY_DATE}"
no_bundle = true
find_additional_modules = true
rules = [
  { type = "CompiledWasm", globs = ["**/*.wasm"], fallthrough = false },
  { type = "Data", globs = ["**/*.lem"], fallthrough = false },
  { type = "Text", globs = ["**/*.txt"], fallthrough = false },
]
`;
}

/** What counts against {@link WORKER_BUDGET_BYTES}: the script and both kernel modules. */
export function runtimeBytes(sizes: Record<string, number>): number {
  return sizes["worker.js"] + sizes[WORKER_MODULES.kernels] + sizes[WORKER_MODULES.relaxed];
}

/** Writes the worker folder; returns the byte sizes of what it wrote. */
export async function buildWorker(
  modelPath: string,
  out: string,
  limits = {},
): Promise<Record<string, number>> {
  const model = await readInput(modelPath, "Model");
  const [worker, browser] = await Promise.all([
    bundleWorker(resolveLimits(limits) as never),
    bundleBrowserRuntime(),
  ]);
  const kernels = await Deno.readFile(new URL("../kernels/build/kernels.wasm", import.meta.url));
  const relaxed = await Deno.readFile(new URL("../kernels/build/kernels_relaxed.wasm", import.meta.url));
  await Deno.mkdir(out, { recursive: true });
  const files: Record<string, string | Uint8Array> = {
    "worker.js": worker,
    [WORKER_MODULES.kernels]: kernels,
    [WORKER_MODULES.relaxed]: relaxed,
    [WORKER_MODULES.model]: model,
    [WORKER_MODULES.browser]: browser,
    "workerd.capnp": capnp(),
    "wrangler.toml": wranglerToml(),
  };
  const sizes: Record<string, number> = {};
  for (const [name, data] of Object.entries(files)) {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    await Deno.writeFile(`${out}/${name}`, bytes);
    sizes[name] = bytes.length;
  }
  return sizes;
}

if (import.meta.main) {
  await runCli(async () => {
    const { values, positionals } = parseCli(Deno.args, {
      out: { type: "string" },
      limits: { type: "string" },
    }, HELP);
    if (positionals.length > 1) {
      throw new UsageError(`expected at most one model file, got ${positionals.length}`);
    }
    let limits;
    try {
      limits = resolveLimits(values.limits ?? {});
    } catch (e) {
      throw new UsageError(`--limits: ${(e as Error).message}`);
    }
    const out = values.out ?? "dist/worker";
    try {
      const sizes = await buildWorker(positionals[0] ?? SHIPPED, out, limits);
      for (const [name, n] of Object.entries(sizes)) console.log(`${out}/${name}  ${n} bytes`);
      const runtime = runtimeBytes(sizes);
      console.log(
        `runtime (worker.js + kernels.wasm + kernels_relaxed.wasm): ${runtime} bytes of a ${WORKER_BUDGET_BYTES}-byte budget`,
      );
      console.log(`serve: npx workerd serve ${out}/workerd.capnp --socket-addr http=127.0.0.1:8787`);
    } finally {
      await stopBundler();
    }
  }, USAGE);
}
