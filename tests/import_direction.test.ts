/**
 * The dependency arrow runs one way: compiler → runtime. The runtime is what users deploy (Deno Deploy
 * takes runtime/entries/deno.ts as its entry, Workers bundle runtime/entries/worker.ts): it must not pull
 * in the compiler. Test support (tests, benchmarks, fixtures built with the real encoders) may use both.
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Files that only tests and benchmarks use; they may import the compiler. */
export function isTestSupport(path: string): boolean {
  const base = path.replace(/^.*\//, "");
  return /\.(test|bench)\.ts$/.test(base) || /^test_.*\.ts$/.test(base) || base === "testing.ts" ||
    /_suite\.ts$/.test(base);
}

/** Relative module specifiers a TypeScript file imports or re-exports (static and literal dynamic). */
export function importSpecifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']/gms,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) found.push(match[1]);
  }
  return found.filter((s) => s.startsWith("./") || s.startsWith("../"));
}

/**
 * Every project file reachable from `start` through relative imports, with the chain that reached it
 * (for the failure message).
 */
export function reachable(start: string, read: (path: string) => string): Map<string, string[]> {
  const seen = new Map<string, string[]>([[start, [start]]]);
  const queue = [start];
  while (queue.length) {
    const file = queue.shift()!;
    for (const spec of importSpecifiers(read(file))) {
      const target = relative(ROOT, resolve(ROOT, dirname(file), spec));
      if (!target.endsWith(".ts") || seen.has(target)) continue;
      seen.set(target, [...seen.get(file)!, target]);
      queue.push(target);
    }
  }
  return seen;
}

function runtimeFiles(dir = "runtime"): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(join(ROOT, dir))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory && entry.name !== "as" && entry.name !== "build") out.push(...runtimeFiles(path));
    else if (entry.isFile && path.endsWith(".ts") && !isTestSupport(path)) out.push(path);
  }
  return out.sort();
}

/** Runtime → compiler chains found from the runtime's own (non-test) files. */
export function runtimeToCompiler(read: (path: string) => string): string[][] {
  const chains: string[][] = [];
  for (const file of runtimeFiles()) {
    for (const [target, chain] of reachable(file, read)) {
      if (target.startsWith("compiler/")) chains.push(chain);
    }
  }
  return chains;
}

const readProject = (path: string) => Deno.readTextFileSync(join(ROOT, path));

Deno.test("no runtime module imports the compiler, directly or through another module", () => {
  const chains = runtimeToCompiler(readProject);
  assert.deepEqual(chains.map((c) => c.join(" → ")), []);
});

Deno.test("the import walk finds a compiler import added to runtime/entries/deno.ts", () => {
  // The same walk over the real tree with one line added: proves the check above can fail.
  const read = (path: string) =>
    path === "runtime/entries/deno.ts"
      ? `import { compileOnnx } from "../../compiler/compile.ts";\n${readProject(path)}`
      : readProject(path);
  const chains = runtimeToCompiler(read);
  assert.ok(chains.some((c) => c[0] === "runtime/entries/deno.ts" && c[1] === "compiler/compile.ts"));
});

Deno.test("importSpecifiers() reads static, re-export, side-effect and dynamic imports, not packages", () => {
  const source = [
    'import { a } from "./a.ts";',
    "import {",
    "  b,",
    '} from "../b.ts";',
    'export { c } from "./c.ts";',
    'import type { D } from "./d.ts";',
    'import "./e.ts";',
    'const f = await import("./f.ts");',
    'import { Hono } from "hono";',
  ].join("\n");
  assert.deepEqual(importSpecifiers(source).sort(), [
    "../b.ts",
    "./a.ts",
    "./c.ts",
    "./d.ts",
    "./e.ts",
    "./f.ts",
  ]);
});
