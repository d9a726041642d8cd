/**
 * An assignment — one method string per weight matrix — as a recipe (compiler/recipe.ts) with one rule
 * per tensor, so that `--recipe` reproduces a budgeted choice without searching.
 * @module
 */
import { parseRecipe, type Recipe } from "../recipe.ts";

/**
 * The recipe giving tensor `names[i]` the method `methods[i]` (f32 tensors get an explicit rule too).
 *
 * @example
 * ```ts
 * assignmentRecipe(["embedding", "decoder"], ["int4:g64", "int8"]);
 * // { rules: [{ tensors: "embedding", method: "int4:g64" }, { tensors: "decoder", method: "int8" }] }
 * ```
 */
export function assignmentRecipe(
  names: readonly string[],
  methods: readonly string[],
  description?: string,
): Recipe & { description?: string } {
  if (names.length !== methods.length) {
    throw new Error(`assignmentRecipe: ${names.length} tensors but ${methods.length} methods`);
  }
  if (names.some((n) => n.includes("*"))) throw new Error("assignmentRecipe: a tensor name contains *");
  const recipe = parseRecipe({ rules: names.map((tensors, i) => ({ tensors, method: methods[i] })) });
  return description === undefined ? recipe : { description, ...recipe };
}

/**
 * The recipe as JSON text, one rule per line (like compiler/recipes/example.json) and spaced as
 * `deno fmt` spaces JSON, ending in a newline.
 */
export function recipeJson(recipe: { description?: string; rules: readonly object[] }): string {
  const value = (
    v: unknown,
  ): string => (Array.isArray(v) ? `[${v.map(value).join(", ")}]` : JSON.stringify(v));
  const rule = (r: object) =>
    `{ ${Object.entries(r).map(([k, v]) => `${JSON.stringify(k)}: ${value(v)}`).join(", ")} }`;
  const head = recipe.description === undefined
    ? ""
    : `  "description": ${JSON.stringify(recipe.description)},\n`;
  return `{\n${head}  "rules": [\n${recipe.rules.map((r) => `    ${rule(r)}`).join(",\n")}\n  ]\n}\n`;
}

/** A short one-line form, e.g. `embedding=int4:g64 layers.0.w_ih=int8 … decoder=lowrank:128+int8`. */
export function describeAssignment(names: readonly string[], methods: readonly string[]): string {
  return names.map((n, i) => `${n}=${methods[i]}`).join(" ");
}
