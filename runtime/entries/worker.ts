/**
 * Cloudflare Workers / workerd entry: the kernels arrive as a compiled `WebAssembly.Module` (Workers may
 * not compile WASM from bytes), the model as bytes from a data module. The app is built on the first
 * request (nothing asynchronous may run at a worker's global scope). Bundled by `deno task build:worker`.
 * @module
 */
import { LstmModel } from "../model.ts";
import { createAppWith } from "../app.ts";
import type { Limits } from "../app/limits.ts";
import { sha256Hex } from "../sha256.ts";

/** What the worker bundle's generated entry passes in (see bundle.ts). */
export interface WorkerInputs {
  kernels: WebAssembly.Module;
  /** kernels_relaxed.wasm, compiled by the platform (relaxed SIMD: faster int8/int4 products). */
  relaxedKernels?: WebAssembly.Module;
  model: ArrayBuffer | Uint8Array;
  browserRuntime?: string;
  limits?: Partial<Limits>;
  /** GET /openapi.json's document (JSON text) and GET /'s page, rendered by build:worker. */
  openApi: string;
  demoPage: string;
}

/** A module worker (`export default`) serving the app. */
export function createWorker(inputs: WorkerInputs): { fetch(request: Request): Promise<Response> } {
  let app: Promise<ReturnType<typeof createAppWith>> | undefined;
  const start = async () => {
    const bytes = inputs.model instanceof Uint8Array ? inputs.model : new Uint8Array(inputs.model);
    const model = await LstmModel.load(bytes, {
      kernels: inputs.kernels,
      relaxedKernels: inputs.relaxedKernels ?? false,
    });
    const runtime = inputs.browserRuntime;
    const openApi = JSON.parse(inputs.openApi);
    return createAppWith({
      model,
      sha256: await sha256Hex(bytes),
      modelBytes: bytes,
      browserRuntime: runtime === undefined ? undefined : () => Promise.resolve(runtime),
      limits: inputs.limits,
    }, { openApi: () => openApi, demoPage: () => inputs.demoPage });
  };
  return {
    async fetch(request) {
      app ??= start();
      let ready;
      try {
        ready = await app;
      } catch (e) {
        app = undefined; // a failed start is retried by the next request
        console.error("lstm-edge: cannot load the model", e);
        const error = { code: "unavailable", message: "the model could not be loaded" };
        return Response.json({ error }, { status: 503 });
      }
      return ready.fetch(request);
    },
  };
}
