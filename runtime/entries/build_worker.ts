/**
 * `deno task build:worker [MODEL.lem] [--out DIR] [--limits JSON]`: everything Cloudflare Workers or a
 * local workerd needs to serve the app, in DIR (default dist/worker):
 *
 *   worker.js         the app and runtime, one ES module (esbuild), imports the three below
 *   kernels.wasm      the kernels, a WebAssembly module the platform compiles at deploy/load time
 *   kernels_relaxed.wasm  the relaxed-SIMD int8/int4 products (imports kernels.wasm's memory), likewise
 *   model.lem         the model, a data module (ArrayBuffer)
 *   demo-runtime.txt  the runtime bundled for browsers (the demo's offline mode), a text module
 *   openapi-json.txt, demo-page-html.txt  GET /openapi.json's document and GET /'s page, rendered here
 *                     (text modules: documents, not runtime code, so outside the 150 KB code budget;
 *                     the page has a budget of its own, DEMO_PAGE_BUDGET_BYTES)
 *   workerd.capnp     `deno task workerd serve DIR/workerd.capnp --socket-addr http=127.0.0.1:8787`
 *   wrangler.toml     `npx wrangler deploy` from DIR (uploads the same modules, no rebundling)
 *
 * It prints each file's size and the upload's — the script plus its six modules — raw and gzip-compressed,
 * and warns when the compressed upload is over Cloudflare Workers' size limit: 3 MiB on the Free plan,
 * 10 MiB on the Paid plan, counted after compression
 * (https://developers.cloudflare.com/workers/platform/limits/#worker-size). The model is most of it:
 * PTB-small in f32 (17.45 MB compressed) fits neither; in int8 (4.52 MB compressed) only the paid plan.
 * @module
 */
import { parseCli, readInput, runCli, UsageError } from "../cli/args.ts";
import { formatBytes } from "../cli/format.ts";
import { resolveLimits } from "../app/limits.ts";
import { openApiDocument } from "../app/openapi.ts";
import { demoPage } from "../app/demo_page.ts";
import { LstmModel } from "../model.ts";
import { bundleBrowserRuntime, bundleWorker, stopBundler, WORKER_MODULES } from "./bundle.ts";

/** The runtime's size budget: worker.js + kernels.wasm + kernels_relaxed.wasm, without the model, under 150 kB. */
export const WORKER_BUDGET_BYTES = 150_000;
/**
 * The demo page's budget, apart from the runtime's: it is a document (HTML, its stylesheet and script, the
 * model card as JSON), sent once per visit and never run by the worker, so it is not counted in
 * {@link WORKER_BUDGET_BYTES}. For PTB-small it is about 20 kB (7 kB gzip-compressed); the page and the
 * browser runtime it loads for offline mode (demo-runtime.txt, held under 150 kB on its own) are what a
 * browser downloads besides the model.
 */
export const DEMO_PAGE_BUDGET_BYTES = 32_000;
/** Compatibility date for workerd and wrangler (must not be later than the workerd release). */
export const COMPATIBILITY_DATE = "2025-09-01";

const SHIPPED = "models/ptb-small.lem";
const USAGE = "deno task build:worker [MODEL.lem] [--out DIR] [--limits JSON]";
const HELP = `
usage: ${USAGE}

Bundles the app for Cloudflare Workers / workerd with one model (default ${SHIPPED}) into DIR
(default dist/worker): worker.js, kernels.wasm, kernels_relaxed.wasm, model.lem, demo-runtime.txt,
openapi-json.txt, demo-page-html.txt (the OpenAPI document and the demo page, rendered now), workerd.capnp,
wrangler.toml.
Prints the upload's size raw and gzip-compressed, warning above Workers' limits (3 MiB free, 10 MiB paid).
Serve it locally:  deno task workerd serve DIR/workerd.capnp --socket-addr http=127.0.0.1:8787
Deploy it:         cd DIR && npx wrangler deploy

  --out DIR       output folder (default dist/worker)
  --limits JSON   request limits baked into the worker (see deno task serve --help)
  -h, --help      this text
`;

function capnp(): string {
  const m = WORKER_MODULES;
  return `# workerd config for lstm-edge (written by deno task build:worker).
# deno task workerd serve DIR/workerd.capnp --socket-addr http=127.0.0.1:8787 (from the repository)
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
    (name = "${m.openApi}", text = embed "${m.openApi}"),
    (name = "${m.demoPage}", text = embed "${m.demoPage}"),
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

/**
 * Cloudflare Workers' limit on a Worker's size, script and modules gzip-compressed as uploaded, per plan
 * (https://developers.cloudflare.com/workers/platform/limits/#worker-size).
 */
export const WORKERS_SIZE_LIMITS = [
  { plan: "free", gzipBytes: 3 * 2 ** 20 },
  { plan: "paid", gzipBytes: 10 * 2 ** 20 },
] as const;

/** What is uploaded to Workers: the script and its modules (not workerd.capnp, wrangler.toml). */
export const UPLOADED = ["worker.js", ...Object.values(WORKER_MODULES)];

/** The gzip-compressed size of `bytes` (the default level, as wrangler reports it). */
export async function gzipBytes(bytes: Uint8Array<ArrayBuffer>): Promise<number> {
  const compressed = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(compressed).arrayBuffer()).byteLength;
}

/**
 * The upload's size lines: each uploaded file raw and gzip, the total, and a warning for each Workers plan
 * whose limit the compressed total is over.
 */
export function uploadReport(files: { path: string; bytes: number; gzip: number }[]): string[] {
  const raw = files.reduce((s, f) => s + f.bytes, 0);
  const gzip = files.reduce((s, f) => s + f.gzip, 0);
  const width = Math.max(...files.map((f) => f.path.length));
  const lines = files.map((f) =>
    `${f.path.padEnd(width)}  ${formatBytes(f.bytes).padStart(9)}  gzip ${formatBytes(f.gzip).padStart(9)}`
  );
  lines.push(
    `upload (script + ${files.length - 1} modules): ${formatBytes(raw)} (${raw} bytes), gzip ${
      formatBytes(gzip)
    } (${gzip} bytes)`,
  );
  const over = WORKERS_SIZE_LIMITS.filter((l) => gzip > l.gzipBytes);
  if (over.length) {
    const limits = WORKERS_SIZE_LIMITS.map((l) => `${l.plan} ${l.gzipBytes / 2 ** 20} MiB`).join(", ");
    lines.push(
      `warning: the compressed upload is over Cloudflare Workers' size limit on the ${
        over.map((l) => l.plan).join(" and ")
      } plan${over.length > 1 ? "s" : ""} (${limits} gzip; ` +
        "https://developers.cloudflare.com/workers/platform/limits/#worker-size): the model is most of it; " +
        "a smaller one fits (deno task compile --method int4, or --target-size BYTES)",
    );
  }
  return lines;
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
  // The two documents the app serves, rendered now: their code stays out of the worker script.
  const demo = demoPage({ model: await LstmModel.load(model), offline: true });
  const openApi = JSON.stringify(openApiDocument(resolveLimits(limits)));
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
    [WORKER_MODULES.openApi]: openApi,
    [WORKER_MODULES.demoPage]: demo,
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
      const files = await Promise.all(UPLOADED.map(async (name) => ({
        path: `${out}/${name}`,
        bytes: sizes[name],
        gzip: await gzipBytes(await Deno.readFile(`${out}/${name}`)),
      })));
      const report = uploadReport(files);
      for (const line of report) (line.startsWith("warning:") ? console.error : console.log)(line);
      console.log(`also written: ${out}/workerd.capnp, ${out}/wrangler.toml`);
      const runtime = runtimeBytes(sizes);
      console.log(
        `runtime (worker.js + kernels.wasm + kernels_relaxed.wasm): ${runtime} bytes of a ${WORKER_BUDGET_BYTES}-byte budget`,
      );
      console.log(`serve: deno task workerd serve ${out}/workerd.capnp --socket-addr http=127.0.0.1:8787`);
    } finally {
      await stopBundler();
    }
  }, USAGE);
}
