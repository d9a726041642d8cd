import assert from "node:assert/strict";
import { exists as dataExists, ML5_CHARRNN, needs, writeMl5Lem } from "../../tests/helpers.ts";
import { checkCharacterModel, checkEveryRoute, generateCharactersLocally } from "../app/http_suite.ts";
import { LstmModel } from "../model.ts";
import { writeTestModel } from "../app/test_model.ts";
import { buildWorker, runtimeBytes, WORKER_BUDGET_BYTES } from "./build_worker.ts";
import { stopBundler, WORKER_MODULES } from "./bundle.ts";
import { exists, freePort, healthy, startServer, workerdBinary } from "./testing.ts";

const WORKERD = workerdBinary();
const reason = "workerd is absent from node_modules (npm workerd: deno install, see .ci/run)";

let built: Promise<{ dir: string; sizes: Record<string, number> }> | undefined;
function build() {
  built ??= (async () => {
    const model = await writeTestModel();
    const dir = await Deno.makeTempDir({ prefix: "lstm-edge-worker-" });
    try {
      return { dir, sizes: await buildWorker(model, dir) };
    } finally {
      await Deno.remove(model);
      await stopBundler();
    }
  })();
  return built;
}

/** Serves the worker built in `dir` with workerd on a free loopback port while `fn(url)` runs. */
async function underWorkerd(dir: string, fn: (url: string) => Promise<void>): Promise<void> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await startServer(
    WORKERD!,
    ["serve", `${dir}/workerd.capnp`, "--socket-addr", `http=127.0.0.1:${port}`],
    () => healthy(url),
  );
  try {
    await fn(url);
  } finally {
    await server.stop();
  }
}

Deno.test("build:worker writes the bundle, modules, workerd.capnp and wrangler.toml", async () => {
  const { dir, sizes } = await build();
  for (const name of ["worker.js", "workerd.capnp", "wrangler.toml", ...Object.values(WORKER_MODULES)]) {
    assert.ok(exists(`${dir}/${name}`), name);
  }
  const capnp = await Deno.readTextFile(`${dir}/workerd.capnp`);
  assert.match(capnp, /sockets = \[\(name = "http"/);
  const js = await Deno.readTextFile(`${dir}/worker.js`);
  assert.match(js, /from"\.\/kernels\.wasm"/);
  assert.match(capnp, /\(name = "kernels\.wasm", wasm = embed "kernels\.wasm"\)/, "compiled by the platform");
  assert.match(js, /from"\.\/kernels_relaxed\.wasm"/);
  assert.match(capnp, /\(name = "kernels_relaxed\.wasm", wasm = embed "kernels_relaxed\.wasm"\)/);
  assert.equal(sizes[WORKER_MODULES.model], 12128);
});

Deno.test("the worker runtime (worker.js + both kernel modules, without model) is within the size budget", async () => {
  const { sizes } = await build();
  const runtime = runtimeBytes(sizes);
  console.log(
    `worker.js ${sizes["worker.js"]} + kernels.wasm ${sizes[WORKER_MODULES.kernels]} + kernels_relaxed.wasm ${
      sizes[WORKER_MODULES.relaxed]
    } = ${runtime} bytes`,
  );
  assert.ok(runtime < WORKER_BUDGET_BYTES, `${runtime} bytes ≥ budget ${WORKER_BUDGET_BYTES}`);
  assert.ok(
    sizes[WORKER_MODULES.browser] < WORKER_BUDGET_BYTES,
    `browser bundle ${sizes[WORKER_MODULES.browser]}`,
  );
});

Deno.test({
  name: "workerd serves the built worker on loopback: every route over HTTP",
  ...needs(WORKERD !== undefined, reason),
  fn: async () => {
    const { dir } = await build();
    await underWorkerd(
      dir,
      (url) => checkEveryRoute((path, init) => fetch(url + path, init), { runtime: true }),
    );
  },
});

Deno.test({
  name: "workerd serves ml5's dubois char-RNN: raw text on every route, readable generated text",
  ...needs(
    WORKERD !== undefined && dataExists(ML5_CHARRNN),
    `${reason}, or ${ML5_CHARRNN.pathname} (ml5.js's pretrained char-RNNs) is absent`,
  ),
  fn: async () => {
    const model = await writeMl5Lem("dubois");
    const dir = await Deno.makeTempDir({ prefix: "lstm-edge-worker-dubois-" });
    try {
      await buildWorker(model, dir);
      await stopBundler();
      const generated = await generateCharactersLocally(await LstmModel.load(await Deno.readFile(model)));
      await underWorkerd(
        dir,
        (url) => checkCharacterModel((path, init) => fetch(url + path, init), { generated, readable: true }),
      );
    } finally {
      await Deno.remove(model);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
