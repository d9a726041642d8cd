/**
 * Regenerates the TypeScript bindings of `schema/lem.fbs` into `schema/generated/`.
 *
 * Runs `flatc --ts` and rewrites its output so that Deno can import it without sloppy imports: every
 * relative import gets its explicit `.ts` extension (`import * as flatbuffers from 'flatbuffers'` already
 * resolves through deno.json's import map), and a header says how the file was made. The output depends
 * only on the schema and the flatc version, so `schema/generated.test.ts` can tell when the committed
 * files are stale.
 *
 * Usage: `deno task gen:schema`
 * @module
 */

import { parseCli } from "../runtime/cli/args.ts";

/** The flatc version whose output is committed (Debian's flatbuffers-compiler; matches npm flatbuffers@2.0.7). */
export const EXPECTED_FLATC_VERSION = "2.0.8";

const HERE = new URL(".", import.meta.url);
/** `schema/lem.fbs` as a path. */
export const SCHEMA_PATH: string = new URL("lem.fbs", HERE).pathname;
/** `schema/generated/` as a path. */
export const GENERATED_DIR: string = new URL("generated", HERE).pathname;

/** The installed flatc's version ("2.0.8"), or null when flatc cannot be run. */
export async function flatcVersion(flatc = "flatc"): Promise<string | null> {
  try {
    const out = await new Deno.Command(flatc, { args: ["--version"], stdout: "piped", stderr: "piped" })
      .output();
    if (!out.success) return null;
    const text = new TextDecoder().decode(out.stdout);
    return /(\d+\.\d+\.\d+)/.exec(text)?.[1] ?? text.trim();
  } catch {
    return null;
  }
}

/** Adds `.ts` to relative module specifiers in `import … from '…'` and `export … from '…'`. */
export function addTsExtensions(source: string): string {
  return source.replace(
    /(\bfrom\s+)(['"])(\.{1,2}\/[^'"]*?)(\2)/g,
    (_m, from: string, q: string, spec: string) =>
      `${from}${q}${spec.endsWith(".ts") ? spec : spec + ".ts"}${q}`,
  );
}

/** Rewrites one flatc output file for Deno: explicit extensions, LF line ends, a provenance header. */
export function rewriteGenerated(source: string, version: string): string {
  const lf = source.replace(/\r\n?/g, "\n");
  const header = `// Made importable by Deno by schema/generate.ts from flatc ${version} output; ` +
    "regenerate with `deno task gen:schema`.\n";
  return header + addTsExtensions(lf).replace(/\s*$/, "\n");
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const rel = prefix + entry.name;
    if (entry.isDirectory) out.push(...await listFiles(`${dir}/${entry.name}`, rel + "/"));
    else if (entry.isFile) out.push(rel);
  }
  return out.sort();
}

/**
 * Runs flatc on `schema` and writes the rewritten files into `outDir`, replacing what was there.
 * Returns the written paths relative to `outDir`, sorted.
 *
 * @example
 * ```ts
 * await generateSchema(await Deno.makeTempDir()); // ["lem/dense.ts", …, "lem_generated.ts"]
 * ```
 */
export async function generateSchema(
  outDir: string = GENERATED_DIR,
  options: { schema?: string; flatc?: string } = {},
): Promise<string[]> {
  const flatc = options.flatc ?? "flatc";
  const version = await flatcVersion(flatc);
  if (version === null) {
    throw new Error(
      `Cannot run "${flatc}": install flatc ${EXPECTED_FLATC_VERSION} (apt-get install flatbuffers-compiler)`,
    );
  }
  const raw = await Deno.makeTempDir({ prefix: "lem-flatc-" });
  try {
    const out = await new Deno.Command(flatc, {
      args: ["--ts", "-o", raw, options.schema ?? SCHEMA_PATH],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `flatc failed:\n${new TextDecoder().decode(out.stderr)}${new TextDecoder().decode(out.stdout)}`,
      );
    }
    const files = (await listFiles(raw)).filter((f) => f.endsWith(".ts"));
    await Deno.remove(outDir, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    for (const file of files) {
      const text = await Deno.readTextFile(`${raw}/${file}`);
      const target = `${outDir}/${file}`;
      await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(target, rewriteGenerated(text, version));
    }
    return files;
  } finally {
    await Deno.remove(raw, { recursive: true });
  }
}

const HELP = `
usage: deno task gen:schema

Regenerates schema/generated/ (the TypeScript bindings of schema/lem.fbs) with flatc ${EXPECTED_FLATC_VERSION}
(Debian flatbuffers-compiler), made importable by Deno. The output is committed; schema/generated.test.ts
fails when it is stale.

  -h, --help  this text
`;

if (import.meta.main) {
  parseCli(Deno.args, {}, HELP);
  const version = await flatcVersion();
  if (version !== null && version !== EXPECTED_FLATC_VERSION) {
    console.warn(
      `warning: flatc ${version} found; the committed code comes from flatc ${EXPECTED_FLATC_VERSION}, which matches ` +
        "npm flatbuffers@2.0.7 in deno.json",
    );
  }
  const files = await generateSchema();
  console.log(`wrote ${files.length} files to schema/generated/ (flatc ${version})`);
}
