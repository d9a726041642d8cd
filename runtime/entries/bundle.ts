/**
 * esbuild bundles of the runtime: for browsers (the demo's offline mode; kernels inlined) and for
 * Cloudflare Workers / workerd (kernels, model and the browser bundle as separate modules the platform
 * provides: compiled WebAssembly.Modules, an ArrayBuffer and a string). Both carry the relaxed-SIMD
 * kernels (kernels_relaxed.wasm) beside the plain ones; browsers use them where `WebAssembly.validate`
 * accepts them.
 * @module
 */
import * as esbuild from "esbuild";

const here = (path: string) => new URL(path, import.meta.url).pathname;
const KERNELS = here("../kernels/build/kernels.wasm");
const RELAXED = here("../kernels/build/kernels_relaxed.wasm");

async function build(options: esbuild.BuildOptions): Promise<string> {
  const result = await esbuild.build({
    bundle: true,
    format: "esm",
    minify: true,
    write: false,
    legalComments: "none",
    logLevel: "silent",
    target: "es2022",
    ...options,
  });
  return result.outputFiles![0].text;
}

/**
 * The runtime for a page, one ES module with the kernels inlined: `loadModel(bytes)` → LstmModel,
 * `textService(model)` → TextService (what the server's routes run), `modelCard(model)` (the demo's card).
 */
export function bundleBrowserRuntime(): Promise<string> {
  return build({
    stdin: {
      contents: [
        `import kernels from ${JSON.stringify(KERNELS)};`,
        `import relaxed from ${JSON.stringify(RELAXED)};`,
        `import { loadModelWith } from ${JSON.stringify(here("./browser.ts"))};`,
        `export { textService, LstmModel, modelCard } from ${JSON.stringify(here("./browser.ts"))};`,
        `export const loadModel = (bytes) => loadModelWith(bytes, kernels, relaxed);`,
      ].join("\n"),
      loader: "js",
      resolveDir: here("."),
    },
    loader: { ".wasm": "binary" },
    platform: "browser",
  });
}

/** Module names the worker bundle imports and the platform provides. */
export const WORKER_MODULES = {
  kernels: "kernels.wasm",
  relaxed: "kernels_relaxed.wasm",
  model: "model.lem",
  browser: "demo-runtime.txt",
  /** GET /openapi.json's document and GET /'s page, rendered at build time (text modules). */
  openApi: "openapi-json.txt",
  demoPage: "demo-page-html.txt",
};

/**
 * The worker script (ES module, `export default {fetch}`), without kernels, model, browser bundle, OpenAPI
 * document or demo page (modules beside it).
 */
export function bundleWorker(limits: Record<string, number> = {}): Promise<string> {
  const m = WORKER_MODULES;
  return build({
    stdin: {
      contents: [
        `import kernels from "./${m.kernels}";`,
        `import relaxedKernels from "./${m.relaxed}";`,
        `import model from "./${m.model}";`,
        `import browserRuntime from "./${m.browser}";`,
        `import openApi from "./${m.openApi}";`,
        `import demoPage from "./${m.demoPage}";`,
        `import { createWorker } from ${JSON.stringify(here("./worker.ts"))};`,
        `export default createWorker({ kernels, relaxedKernels, model, browserRuntime, openApi, demoPage, limits: ${
          JSON.stringify(limits)
        } });`,
      ].join("\n"),
      loader: "js",
      resolveDir: here("."),
    },
    external: Object.values(m).map((name) => `./${name}`),
    platform: "neutral",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"],
  });
}

/** Stops esbuild's service so that the process can exit. */
export function stopBundler(): Promise<void> {
  return esbuild.stop();
}
