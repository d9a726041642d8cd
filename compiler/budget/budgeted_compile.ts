/**
 * The budgeted compile: the search (./search.ts) chooses a recipe — one method per weight matrix — and
 * the chosen recipe is compiled by the same pipeline as every other compile (compiler/compile.ts: compress,
 * write, check against onnxruntime-web, measure). The file written is the file `compile --recipe` writes
 * for that recipe and the same `--eval` text.
 * @module
 */
import {
  compileImported,
  type CompileOptions,
  COMPILER,
  type CompileResult,
  importModel,
} from "../compile.ts";
import { Tokenizer } from "../../runtime/tokenizer.ts";
import type { Recipe } from "../recipe.ts";
import type { Budget } from "./budget.ts";
import { RuntimeEvaluator } from "./evaluator.ts";
import { budgetSearch, type MeasuredModel, type SearchProgress, type SearchResult } from "./search.ts";
import { assignmentRecipe } from "./assignment.ts";

/** Options of {@link compileToBudget}: a compile's (without a recipe: the search chooses it) and the search's. */
export interface BudgetedCompileOptions extends Omit<CompileOptions, "recipe" | "evalText" | "onProgress"> {
  budget: Budget;
  /** The validation text the search measures on (PTB format); also the compile's `evalText`. */
  evalText: string;
  /** Methods tried on every tensor besides f32 (default: compiler/budget/menu.ts). */
  menu?: readonly string[];
  /** Tokens of the validation text the cheap stages score (default 6000). */
  subsetTokens?: number;
  /** Measured combinations scored on the whole validation text (default 3). */
  finalists?: number;
  /** When no model meets the budget, compile the closest one anyway. */
  compileClosest?: boolean;
  /** Told once the validation text is tokenized, before the search starts. */
  onSearchStart?: (info: Pick<BudgetedCompileResult, "evalTokens" | "subsetTokens" | "subsetPieces">) => void;
  onSearchProgress?: (progress: SearchProgress) => void;
  onCompileProgress?: CompileOptions["onProgress"];
}

/** What a budgeted compile found and, when a model was chosen (or the closest asked for), compiled. */
export interface BudgetedCompileResult {
  search: SearchResult;
  /** Validation tokens the search scored (after `evalLimit`). */
  evalTokens: number;
  /** Tokens of the subset the cheap stages scored, and in how many pieces. */
  subsetTokens: number;
  subsetPieces: number;
  /** The model compiled: the chosen one, or the closest with `compileClosest`. */
  picked?: MeasuredModel & { validPerplexity: number };
  /** Its recipe (one rule per tensor). */
  recipe?: Recipe;
  /** The compile of that recipe. */
  compiled?: CompileResult;
}

/**
 * Searches a recipe for `options.budget` and compiles it.
 *
 * @example
 * ```ts
 * const r = await compileToBudget(onnxBytes, { fileName: "ptb-small.onnx", budget: { targetBytes: 3e6 }, evalText });
 * if (r.search.chosen) await writeFileAtomic("x.lem", r.compiled!.bytes);
 * ```
 */
export async function compileToBudget(
  onnxBytes: Uint8Array,
  options: BudgetedCompileOptions,
): Promise<BudgetedCompileResult> {
  const ir = importModel(onnxBytes, options);
  if (ir.trained) {
    throw new Error(
      `${options.fileName} was re-trained by models/finetune.py with its recipe: compile it with that recipe ` +
        `(deno task compile ${options.fileName}, no --target-size); a budget search on it would compress ` +
        `its trained parts afresh`,
    );
  }
  const tokenizer = new Tokenizer(ir.vocab, ir.unkId, ir.eosId, ir.tokenizer);
  const all = tokenizer.encode(options.evalText).ids;
  const ids = options.evalLimit ? all.slice(0, options.evalLimit) : all;
  if (ids.length < 2) throw new Error(`The --eval text holds ${ids.length} token(s); at least 2 are needed`);
  const name = options.name ?? options.fileName.replace(/^.*[\\/]/, "").replace(/\.[^.]*$/, "");
  const evaluator = new RuntimeEvaluator(ir, ids, {
    subsetTokens: options.subsetTokens,
    metadata: { name, compiler: COMPILER },
  });
  const info = {
    evalTokens: ids.length,
    subsetTokens: evaluator.subset.reduce((s, seg) => s + seg.length, 0),
    subsetPieces: evaluator.subset.length,
  };
  options.onSearchStart?.(info);
  const search = await budgetSearch(evaluator, {
    budget: options.budget,
    menu: options.menu,
    finalists: options.finalists,
    onProgress: options.onSearchProgress,
  });
  const result: BudgetedCompileResult = { search, ...info };
  const picked = search.chosen ?? (options.compileClosest ? search.closest : undefined);
  if (!picked) return result;
  const recipe = assignmentRecipe(search.tensors, picked.methods);
  const compiled = await compileImported(ir, onnxBytes, {
    ...options,
    name,
    recipe,
    onProgress: options.onCompileProgress,
  });
  // The search measured files carrying the compile's metric names with placeholder values: the compiled
  // file has the measured size, or less when a metric could not be measured (onnxruntime-web refused the
  // original).
  if (compiled.bytes.length > picked.bytes) {
    throw new Error(
      `internal: the compiled model has ${compiled.bytes.length} bytes, measured ${picked.bytes}`,
    );
  }
  return { ...result, picked, recipe, compiled };
}
