/**
 * The npm package as a client app gets it: `deno task build:npm`, `npm pack`, `npm install` of the tarball
 * into an empty project, then predicting from Node (plain SIMD: Node 20 has no relaxed SIMD) and from a
 * page in headless Chromium (bundled by esbuild from the installed package, as an app's build would), and
 * type-checking a TypeScript consumer against the package's declarations.
 */
import assert from "node:assert/strict";
import * as esbuild from "esbuild";
import { needs, runTask } from "./helpers.ts";
import { exists } from "../runtime/entries/testing.ts";
import { LstmModel } from "../runtime/model.ts";
import { TextService } from "../runtime/app/service.ts";

const CHROMIUM = "/usr/bin/chromium";
const TSC = new URL(
  "../node_modules/.deno/typescript@5.9.3/node_modules/typescript/bin/tsc",
  import.meta.url,
);
const TEXT = "the big cat sat on the";

/** Runs a program; its exit status and output (stdout, stderr). */
async function run(cmd: string, args: string[], cwd: string) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  })
    .output();
  const d = new TextDecoder();
  return { ok: out.success, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

function nodeMajor(): number {
  try {
    const out = new Deno.Command("node", { args: ["--version"], stdout: "piped" }).outputSync();
    return Number(/^v(\d+)/.exec(new TextDecoder().decode(out.stdout))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

type Predictions = { token: string; prob: number }[];

/** What the repository's own runtime predicts after TEXT, with the plain-SIMD or the relaxed kernels. */
async function expected(lem: Uint8Array, relaxed: boolean): Promise<Predictions> {
  const model = relaxed ? await LstmModel.load(lem) : await LstmModel.load(lem, { relaxedKernels: false });
  return new TextService(model, { maxTextTokens: 100 }).predict(TEXT, model.createState(), 5).predictions;
}

function assertClose(got: Predictions, want: Predictions, what: string) {
  assert.deepEqual(got.map((p) => p.token), want.map((p) => p.token), what);
  got.forEach((p, i) =>
    assert.ok(Math.abs(p.prob - want[i].prob) <= 1e-6, `${what}: ${p.prob} vs ${want[i].prob}`)
  );
}

const APP = `import { loadModel, TextService } from "lstm-edge";
export async function predictions(bytes) {
  const model = await loadModel(bytes);
  return new TextService(model, { maxTextTokens: 100 }).predict(${
  JSON.stringify(TEXT)
}, model.createState(), 5)
    .predictions;
}
`;

Deno.test({
  name: "the npm tarball installs into an empty project and predicts in Node 20 and in Chromium, typed",
  ...needs(nodeMajor() >= 20, "Node.js ≥ 20 and npm are needed (node on PATH)"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "lstm-edge-npm-" });
    try {
      // An int8 model: the plain-SIMD and relaxed products differ, so each engine's path shows.
      const lem = `${dir}/m.lem`;
      const compiled = await runTask(
        "compile",
        new URL("fixtures/confident.onnx", import.meta.url).pathname,
        "--method",
        "int8",
        "-o",
        lem,
      );
      assert.equal(compiled.code, 0, compiled.stderr);
      const bytes = await Deno.readFile(lem);
      const [plain, relaxed] = [await expected(bytes, false), await expected(bytes, true)];
      assert.ok(
        plain.some((p, i) => Math.abs(p.prob - relaxed[i].prob) > 1e-5),
        "plain and relaxed agree: no signal",
      );

      const built = await runTask("build:npm", "--out", `${dir}/pkg`);
      assert.equal(built.code, 0, built.stderr);
      assert.match(built.stdout, /index\.js {2}\d+ bytes/);
      const packed = await run("npm", ["pack", "--pack-destination", dir], `${dir}/pkg`);
      assert.ok(packed.ok, packed.stderr);
      const tarball = `${dir}/${packed.stdout.trim().split("\n").at(-1)}`;
      assert.match(tarball, /lstm-edge-\d+\.\d+\.\d+\.tgz$/);

      const app = `${dir}/app`;
      await Deno.mkdir(app);
      await Deno.writeTextFile(
        `${app}/package.json`,
        JSON.stringify({ name: "app", private: true, type: "module" }),
      );
      const installed = await run("npm", ["install", "--no-audit", "--no-fund", tarball], app);
      assert.ok(installed.ok, installed.stderr);

      // Node: no Deno, no file next to the bundle: the kernels come inline.
      await Deno.writeTextFile(`${app}/predictions.js`, APP);
      await Deno.writeTextFile(
        `${app}/node.js`,
        `import { readFileSync } from "node:fs";
import { predictions } from "./predictions.js";
console.log(JSON.stringify(await predictions(new Uint8Array(readFileSync(${JSON.stringify(lem)})))));
`,
      );
      const node = await run("node", ["node.js"], app);
      assert.ok(node.ok, node.stderr);
      assertClose(JSON.parse(node.stdout), plain, "Node 20 (plain SIMD)");

      // TypeScript: the declarations type the runtime and the client (and a wrong type is caught).
      await Deno.writeTextFile(
        `${app}/consumer.ts`,
        `import { loadModel, TextService, type Prediction } from "lstm-edge";
import { createClient } from "lstm-edge/client";
const model = await loadModel(new Uint8Array(0));
const p: Prediction[] = new TextService(model, { maxTextTokens: 9 }).predict("a", model.createState(), 3).predictions;
const body = await (await createClient("http://localhost:8000").v1.predict.$post({ json: { text: "a" } })).json();
const prob: number = body.predictions[0].prob;
const wrong: string = body.predictions[0].prob;
console.log(p, prob, wrong);
`,
      );
      await Deno.writeTextFile(
        `${app}/tsconfig.json`,
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            module: "nodenext",
            moduleResolution: "nodenext",
            target: "es2022",
            lib: ["es2022", "dom"],
            types: [],
          },
          files: ["consumer.ts"],
        }),
      );
      const tsc = await run("node", [TSC.pathname, "-p", "."], app);
      // Exactly one error, on the line that assigns the probability to a string.
      assert.deepEqual(
        [...tsc.stdout.matchAll(/consumer\.ts\((\d+),\d+\): error (TS\d+)/g)].map((m) => [m[1], m[2]]),
        [["7", "TS2322"]],
        tsc.stdout,
      );

      // Chromium: the app bundled from node_modules by esbuild, served with the model.
      await Deno.writeTextFile(
        `${app}/page.js`,
        `import { predictions } from "./predictions.js";
const bytes = new Uint8Array(await (await fetch("/m.lem")).arrayBuffer());
document.body.dataset.result = JSON.stringify(await predictions(bytes));
`,
      );
      const bundle = await esbuild.build({
        entryPoints: [`${app}/page.js`],
        absWorkingDir: app,
        bundle: true,
        format: "esm",
        platform: "browser",
        write: false,
        logLevel: "silent",
      });
      await esbuild.stop();
      const files: Record<string, [string, BodyInit]> = {
        "/": [
          "text/html",
          '<!doctype html><title>app</title><link rel="icon" href="data:,"><body><script type="module" src="/page.js"></script>',
        ],
        "/page.js": ["text/javascript", bundle.outputFiles[0].text],
        "/m.lem": ["application/octet-stream", bytes],
      };
      if (!exists(CHROMIUM)) {
        console.log(`skipping the Chromium half: ${CHROMIUM} is absent (Debian package chromium)`);
        return;
      }
      const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
        const file = files[new URL(req.url).pathname];
        return file
          ? new Response(file[1], { headers: { "content-type": file[0] } })
          : new Response("", { status: 404 });
      });
      const { chromium } = await import("playwright-core");
      const profile = await Deno.makeTempDir({ prefix: "lstm-edge-chromium-" });
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--no-first-run",
          "--disable-background-networking",
        ],
        timeout: 30000,
      });
      try {
        const page = context.pages()[0] ?? await context.newPage();
        const errors: string[] = [];
        page.on("pageerror", (e) => errors.push(e.message));
        page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
        await page.goto(`http://127.0.0.1:${server.addr.port}/`);
        await page.waitForFunction("document.body.dataset.result !== undefined", undefined, {
          timeout: 15000,
        });
        const result = JSON.parse((await page.evaluate("document.body.dataset.result")) as string);
        assert.deepEqual(errors, []);
        // Current Chromium validates relaxed SIMD: the package uses those kernels there, like Deno.
        assertClose(result, relaxed, "Chromium (relaxed SIMD)");
      } finally {
        await context.close();
        await server.shutdown();
        await Deno.remove(profile, { recursive: true }).catch(() => {});
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
