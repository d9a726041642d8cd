import assert from "node:assert/strict";
import { exists as dataExists, ML5_CHARRNN, needs, writeMl5Lem } from "../../tests/helpers.ts";
import { checkCharacterModel, checkEveryRoute, generateCharactersLocally } from "../app/http_suite.ts";
import { LstmModel } from "../model.ts";
import { loadTestModel, writeTestModel } from "../app/test_model.ts";
import { demoPage } from "../app/demo_page.ts";
import {
  buildWorker,
  DEMO_PAGE_BUDGET_BYTES,
  gzipBytes,
  runtimeBytes,
  uploadReport,
  WORKER_BUDGET_BYTES,
  WORKERS_SIZE_LIMITS,
} from "./build_worker.ts";
import { runTask } from "../../tests/helpers.ts";
import { stopBundler, WORKER_MODULES } from "./bundle.ts";
import { exists, serveWorker } from "./testing.ts";
import { workerdBinary } from "./workerd.ts";

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

/**
 * Serves the worker built in `dir` through `deno task workerd` (the pinned binary) on a free loopback port
 * while `fn(url)` runs, then stops the task and checks that workerd stopped with it (the port is free).
 */
async function underWorkerd(dir: string, fn: (url: string) => Promise<void>): Promise<void> {
  const server = await serveWorker(dir);
  const { port } = server;
  try {
    await fn(server.url);
  } finally {
    await server.stop();
  }
  // SIGTERM to the task reached workerd: nothing listens on the port any more.
  let listening = true;
  for (let i = 0; i < 40 && listening; i++) {
    listening = await Deno.connect({ hostname: "127.0.0.1", port }).then(
      (c) => (c.close(), true),
      () => false,
    );
    if (listening) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(listening, false, `workerd still listens on ${port} after the task was stopped`);
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

Deno.test("the worker runtime (worker.js + both kernel modules, without model) is within the size budget, the demo page within its own", async () => {
  const { sizes } = await build();
  const runtime = runtimeBytes(sizes);
  console.log(
    `worker.js ${sizes["worker.js"]} + kernels.wasm ${sizes[WORKER_MODULES.kernels]} + kernels_relaxed.wasm ${
      sizes[WORKER_MODULES.relaxed]
    } = ${runtime} bytes; demo page ${
      sizes[WORKER_MODULES.demoPage]
    } bytes (a document, budget ${DEMO_PAGE_BUDGET_BYTES})`,
  );
  assert.ok(runtime < WORKER_BUDGET_BYTES, `${runtime} bytes ≥ budget ${WORKER_BUDGET_BYTES}`);
  assert.ok(
    sizes[WORKER_MODULES.demoPage] < DEMO_PAGE_BUDGET_BYTES,
    `demo page ${sizes[WORKER_MODULES.demoPage]} bytes ≥ budget ${DEMO_PAGE_BUDGET_BYTES}`,
  );
  assert.ok(
    sizes[WORKER_MODULES.browser] < WORKER_BUDGET_BYTES,
    `browser bundle ${sizes[WORKER_MODULES.browser]}`,
  );
});

Deno.test("build:worker's upload report: raw and gzip per file and in total, a warning per Workers plan it exceeds", async () => {
  const MiB = 2 ** 20;
  const files = (modelGzip: number) => [
    { path: "w/worker.js", bytes: 100_000, gzip: 30_000 },
    { path: "w/model.lem", bytes: 2 * modelGzip, gzip: modelGzip },
  ];
  const small = uploadReport(files(MiB));
  assert.equal(small.length, 3);
  assert.match(small[0], /^w\/worker\.js\s+100\.0 kB {2}gzip {3}30\.0 kB$/);
  assert.match(
    small[2],
    /^upload \(script \+ 1 modules\): 2\.20 MB \(2197152 bytes\), gzip 1\.08 MB \(1078576 bytes\)$/,
  );
  const [free, paid] = WORKERS_SIZE_LIMITS.map((l) => l.gzipBytes);
  assert.deepEqual([free, paid], [3 * MiB, 10 * MiB]);
  const overFree = uploadReport(files(free - 30_000 + 1)).at(-1)!;
  assert.match(
    overFree,
    /^warning: .* over Cloudflare Workers' size limit on the free plan \(free 3 MiB, paid 10 MiB/,
  );
  assert.match(overFree, /https:\/\/developers\.cloudflare\.com\/workers\/platform\/limits\/#worker-size/);
  assert.equal(uploadReport(files(free - 30_000)).length, 3, "exactly at the limit is within it");
  assert.match(uploadReport(files(paid)).at(-1)!, /on the free and paid plans/);
  // gzip is measured, not estimated: zeros shrink, random bytes do not.
  assert.ok((await gzipBytes(new Uint8Array(100_000))) < 1000);
  assert.ok((await gzipBytes(crypto.getRandomValues(new Uint8Array(60_000)))) > 60_000);
});

Deno.test("deno task build:worker prints the upload's raw and gzip sizes", async () => {
  const model = await writeTestModel();
  const dir = await Deno.makeTempDir({ prefix: "lstm-edge-worker-cli-" });
  try {
    const r = await runTask("build:worker", model, "--out", dir);
    assert.equal(r.code, 0, r.stderr);
    const uploaded = ["worker.js", ...Object.values(WORKER_MODULES)];
    let raw = 0;
    for (const name of uploaded) {
      raw += (await Deno.stat(`${dir}/${name}`)).size;
      const line = new RegExp(
        `^${dir}/${name.replaceAll(".", "\\.")}\\s+[\\d.]+ k?B  gzip\\s+[\\d.]+ k?B$`,
        "m",
      );
      assert.match(r.stdout, line);
    }
    const total = /^upload \(script \+ 6 modules\): .* \((\d+) bytes\), gzip .* \((\d+) bytes\)$/m.exec(
      r.stdout,
    );
    assert.ok(total, r.stdout);
    assert.equal(Number(total[1]), raw);
    assert.ok(Number(total[2]) < raw);
    assert.doesNotMatch(r.stderr, /warning/); // a 12 kB model is far within both plans
  } finally {
    await Deno.remove(model);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "deno task workerd serves the built worker on loopback (every route over HTTP, the demo page as Deno renders it), and stopping it stops workerd",
  ...needs(WORKERD !== undefined, reason),
  fn: async () => {
    const { dir } = await build();
    // The page rendered at build time is the one createApp renders for the same model (its card included).
    const page = demoPage({ model: (await loadTestModel()).model, offline: true });
    await underWorkerd(dir, async (url) => {
      await checkEveryRoute((path, init) => fetch(url + path, init), { runtime: true });
      assert.equal(await (await fetch(url + "/")).text(), page);
    });
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
