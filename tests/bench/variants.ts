/**
 * The compressed variants `deno task bench` runs, as short specs:
 *
 * ```
 * VARIANT := METHOD                          every matrix by one method: int8, lowrank:64+int8
 *          | PATTERN "=" METHOD (";" …)      per-tensor rules, first match wins: embedding=tt:128+int8;*=int8
 *          | "@" FILE                        a recipe file (compiler/recipes/*.json)
 *          | "budget"                        the --budget-recipe file (the budgeted default)
 * ```
 *
 * METHOD is compiler/recipe.ts's grammar; PATTERN a tensor-name pattern (`*` matches anything).
 * @module
 */
import { methodRecipe, parseRecipe, type Recipe } from "../../compiler/recipe.ts";

/** The budgeted default's recipe (made by the budgeted compile). */
export const BUDGET_RECIPE = "compiler/recipes/ptb-small-3mb.json";

/**
 * Stand-in for the budgeted recipe while {@link BUDGET_RECIPE} does not exist: embedding and decoder int4
 * (g32), LSTM matrices int8 per row (≈ 3.4 MB on PTB-small).
 */
export const PLACEHOLDER_BUDGET: Recipe = {
  rules: [
    { tensors: "embedding", method: "int4" },
    { tensors: "decoder", method: "int4" },
    { tensors: "layers.*", method: "int8" },
  ],
};

/**
 * The default rows, one per encoding family: f32, f16, the two plain quantizations, the budgeted default,
 * low rank, TT on every matrix (in the splits the compiler chooses, compiler/tt_split_choice.ts: for
 * PTB-small every matrix in the fast one), TT on the embedding alone (the rest int8, so it compares with
 * the int8 row), unstructured pruning (CSR) and block pruning (SparseBlocks), both at 80 % with int8
 * values. TT on every matrix of the trained model costs too much perplexity without re-training (tt:32+int8:
 * 925.6 against 161.2 for f32 on the first 3000 valid tokens; re-trained in the balanced modes, +21 % —
 * docs/tradeoff.md); on the embedding alone at rank 128 it keeps perplexity within ≈ 6 %. Speed does not
 * depend on the weights.
 */
export const DEFAULT_VARIANTS: readonly string[] = [
  "f32",
  "f16",
  "int8",
  "int4",
  "budget",
  "lowrank:64+int8",
  "tt:32+int8",
  "embedding=tt:128+int8;*=int8",
  "prune:0.8+int8",
  "prune:0.8:b4x8+int8",
];

/** A variant ready to compress. */
export interface Variant {
  /** The spec as given (the row's name). */
  name: string;
  recipe: Recipe;
  /** Where the recipe came from, for the report: "method", "rules", a file path, or "placeholder". */
  source: string;
}

/**
 * Turns a spec into a recipe; `budgetRecipe` is the file `budget` names. Checks method strings and
 * recipe files (RecipeError), but not tensor patterns (those need the model).
 *
 * @example
 * ```ts
 * await resolveVariant("embedding=int4;*=int8", BUDGET_RECIPE);
 * // { name: "embedding=int4;*=int8", recipe: { rules: [{ tensors: "embedding", method: "int4" }, …] }, … }
 * ```
 */
export async function resolveVariant(spec: string, budgetRecipe: string): Promise<Variant> {
  const file = async (path: string) => parseRecipe(JSON.parse(await Deno.readTextFile(path)), path);
  if (spec === "budget") {
    try {
      return { name: spec, recipe: await file(budgetRecipe), source: budgetRecipe };
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      return { name: spec, recipe: PLACEHOLDER_BUDGET, source: "placeholder" };
    }
  }
  if (spec.startsWith("@")) return { name: spec, recipe: await file(spec.slice(1)), source: spec.slice(1) };
  if (spec.includes("=")) {
    const rules = spec.split(";").map((rule) => {
      const eq = rule.indexOf("=");
      if (eq < 1) throw new Error(`Invalid variant "${spec}": rule "${rule}" is not PATTERN=METHOD`);
      return { tensors: rule.slice(0, eq).trim(), method: rule.slice(eq + 1).trim() };
    });
    return { name: spec, recipe: parseRecipe({ rules }, `variant "${spec}"`), source: "rules" };
  }
  return { name: spec, recipe: methodRecipe(spec), source: "method" };
}
