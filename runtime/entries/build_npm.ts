/**
 * `deno task build:npm [--out DIR]`: the npm package `lstm-edge` for client apps, in DIR (default dist/npm):
 *
 *   index.js      runtime/mod.ts bundled by esbuild (ES module): loadModel, LstmModel, TextService,
 *                 Tokenizer, createApp, createClient, …; both kernel modules inlined, so `loadModel(bytes)`
 *                 needs no file or fetch — the same code in Node ≥ 20 and browsers (relaxed SIMD where the
 *                 engine validates it, plain SIMD elsewhere, e.g. Node 20)
 *   client.js     runtime/client.ts alone: the typed HTTP client, for apps that only call a server
 *   types/        TypeScript declarations (tsc) of both, `index.d.ts` and `client.d.ts` at the top
 *   package.json  exports "." and "./client"; hono (the app and the client are Hono's) and flatbuffers
 *                 (the .lem format's reader) as dependencies
 *
 * Try it: `cd dist/npm && npm pack`, then `npm install …/lstm-edge-0.1.0.tgz` in an app. The test
 * (tests/npm_package.test.ts) does that and predicts from Node and from a page in Chromium.
 * @module
 */
import * as esbuild from "esbuild";
import ts from "typescript";
import { parseCli, runCli, UsageError } from "../cli/args.ts";
import { stopBundler } from "./bundle.ts";

const USAGE = "deno task build:npm [--out DIR]";
const HELP = `
usage: ${USAGE}

Builds the npm package "lstm-edge" (the runtime, the typed client and the app factory) into DIR
(default dist/npm): index.js and client.js (ES modules, esbuild; the WASM kernels inlined), their
TypeScript declarations and package.json. Then: cd DIR && npm pack.

  --out DIR   output folder (default dist/npm); replaced if it holds a previous build
  -h, --help  this text
`;

/** The package's version (the compiler's and runtime's, compiler/compile.ts COMPILER). */
export const PACKAGE_VERSION = "0.1.0";

const here = (path: string) => new URL(path, import.meta.url).pathname;
/**
 * The package's dependencies at the versions deno.json pins ("npm:hono@4.13.19"): the app and the client
 * are Hono's; the format is FlatBuffers.
 */
const DEPENDENCIES: Record<string, string> = Object.fromEntries(
  ["hono", "flatbuffers"].map((name) => {
    const imports = JSON.parse(Deno.readTextFileSync(here("../../deno.json"))).imports;
    const version = new RegExp(`^npm:${name}@(.+)$`).exec(imports[name])?.[1];
    if (!version) throw new Error(`deno.json imports "${name}" as ${imports[name]}, not npm:${name}@VERSION`);
    return [name, version];
  }),
);
const ENTRIES = { index: here("../mod.ts"), client: here("../client.ts") };

/** index.js: mod.ts with `loadModel` passing the inlined kernels. */
function indexSource(): string {
  const mod = JSON.stringify(ENTRIES.index);
  return [
    `import kernels from ${JSON.stringify(here("../kernels/build/kernels.wasm"))};`,
    `import relaxed from ${JSON.stringify(here("../kernels/build/kernels_relaxed.wasm"))};`,
    `import { LstmModel } from ${mod};`,
    `export * from ${mod};`,
    // A local export shadows mod.ts's loadModel (the one that compiles build/kernels.wasm from a file).
    `export function loadModel(bytes, options = {}) {`,
    `  return LstmModel.load(bytes, { kernels, relaxedKernels: relaxed, ...options });`,
    `}`,
  ].join("\n");
}

async function bundle(entry: esbuild.BuildOptions): Promise<string> {
  const result = await esbuild.build({
    bundle: true,
    format: "esm",
    write: false,
    legalComments: "none",
    logLevel: "silent",
    target: "es2022",
    platform: "neutral",
    mainFields: ["module", "main"],
    external: Object.keys(DEPENDENCIES).flatMap((name) => [name, `${name}/*`]),
    loader: { ".wasm": "binary" },
    ...entry,
  });
  return result.outputFiles![0].text;
}

/**
 * Declarations of the entries and everything they import, by tsc, with import specifiers ending in `.js`
 * (the sources import `.ts` files, which a consumer's TypeScript resolves to the `.d.ts` beside them only as
 * `.js`); keys are paths relative to the repository root.
 */
function declarations(): Map<string, string> {
  const root = here("../../");
  const out = new Map<string, string>();
  const program = ts.createProgram(Object.values(ENTRIES), {
    declaration: true,
    emitDeclarationOnly: true,
    allowImportingTsExtensions: true,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
    types: [],
    skipLibCheck: true,
    strict: true,
    rootDir: root,
    outDir: "/types",
  });
  const emitted = program.emit(undefined, (fileName, text) => {
    const rel = fileName.replace(/^\/types\//, "");
    out.set(rel, text.replace(/(from\s+|import\()(["'])(\.{1,2}\/[^"']*?)\.ts\2/g, "$1$2$3.js$2"));
  });
  const errors = emitted.diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (emitted.emitSkipped || errors.length) {
    throw new Error(
      `tsc could not write the declarations: ${
        ts.formatDiagnostics(errors, {
          getCanonicalFileName: (f) => f,
          getCurrentDirectory: () => root,
          getNewLine: () => "\n",
        })
      }`,
    );
  }
  return out;
}

function packageJson(): string {
  const entry = (name: string) => ({ types: `./types/${name}.d.ts`, default: `./${name}.js` });
  return JSON.stringify(
    {
      name: "lstm-edge",
      version: PACKAGE_VERSION,
      description:
        "Run compiled LSTM language models (.lem) with small WebAssembly kernels: predict, score, " +
        "generate; serve them with Hono; call them with a typed client",
      type: "module",
      exports: { ".": entry("index"), "./client": entry("client") },
      types: "./types/index.d.ts",
      files: ["index.js", "client.js", "types/"],
      engines: { node: ">=20" },
      sideEffects: false,
      dependencies: DEPENDENCIES,
    },
    null,
    2,
  ) + "\n";
}

/** Writes the package into `out` (emptied first); returns the files written, relative to `out`, with sizes. */
export async function buildNpmPackage(out: string): Promise<Record<string, number>> {
  const [index, client] = await Promise.all([
    bundle({ stdin: { contents: indexSource(), loader: "js", resolveDir: here(".") } }),
    bundle({ entryPoints: [ENTRIES.client] }),
  ]);
  const types = declarations();
  const files = new Map<string, string>([
    ["index.js", index],
    ["client.js", client],
    ["package.json", packageJson()],
    // Top-level declarations named like the entries, re-exporting tsc's tree.
    ["types/index.d.ts", 'export * from "./runtime/mod.js";\n'],
    ["types/client.d.ts", 'export * from "./runtime/client.js";\n'],
  ]);
  for (const [rel, text] of types) files.set(`types/${rel}`, text);
  await Deno.remove(out, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  const sizes: Record<string, number> = {};
  for (const [rel, text] of files) {
    const path = `${out}/${rel}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    const bytes = new TextEncoder().encode(text);
    await Deno.writeFile(path, bytes);
    sizes[rel] = bytes.length;
  }
  return sizes;
}

if (import.meta.main) {
  await runCli(async () => {
    const { values, positionals } = parseCli(Deno.args, { out: { type: "string" } }, HELP);
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const out = values.out ?? "dist/npm";
    try {
      const sizes = await buildNpmPackage(out);
      for (const name of ["index.js", "client.js", "package.json"]) {
        console.log(`${out}/${name}  ${sizes[name]} bytes`);
      }
      const declared = Object.keys(sizes).filter((n) => n.startsWith("types/"));
      console.log(`${out}/types/  ${declared.length} declaration files`);
      console.log(`pack it: cd ${out} && npm pack`);
    } finally {
      await stopBundler();
    }
  }, USAGE);
}
