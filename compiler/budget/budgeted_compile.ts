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
import { retrain, type RetrainResult } from "./retrain.ts";
import { parseMethod } from "../recipe.ts";

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
  /** Told when the search is done, before re-training or compiling. */
  onSearchDone?: (search: SearchResult) => void | Promise<void>;
  onCompileProgress?: CompileOptions["onProgress"];
  /** Re-train with the compression in place (`--finetune`): the search then expects structure to recover. */
  retrain?: RetrainSettings;
}

/** How a budgeted compile re-trains (`--finetune TRAIN_TEXT`). */
export interface RetrainSettings {
  /** The Python with torch that runs models/finetune.py. */
  python: string;
  /** The model's ONNX file (finetune.py reads it). */
  modelPath: string;
  /** Training text, and the validation text finetune.py scores (the same as `evalText`). */
  trainPath: string;
  validPath: string;
  /** A folder for the shortlist's and the winner's runs (ONNX, recipe, log, reference JSON each). */
  workDir: string;
  /** Candidates re-trained briefly (default 3). */
  shortlist?: number;
  /** Batches of each brief re-training (default 300; an epoch of PTB is 2323). */
  shortlistBatches?: number;
  /** Epochs of the winner's re-training (default 3; early stopping may end it sooner). */
  epochs?: number;
  lr?: number;
  threads?: number;
  /** Progress: which run (shortlist i of n, or the winner) and a line finetune.py printed. */
  onLine?: (run: string, line: string) => void;
}

/**
 * The fraction of a method's measured perplexity damage the search expects to remain after re-training:
 * structure (low rank, TT, pruning) recovers most of it (the paper's result; the bar this project sets is
 * four fifths), quantization about half. Only an expectation for choosing the shortlist: the shortlist is
 * then re-trained and measured.
 */
export function expectedRecovery(method: string): number {
  return parseMethod(method).kind === "store" ? 0.5 : 0.2;
}

/** One shortlisted candidate and what brief re-training made of it. */
export interface ShortlistEntry {
  methods: string[];
  bytes: number;
  /** Its subset perplexity as compressed (post hoc), and what the search expected after re-training. */
  subsetPerplexity: number;
  expectedPerplexity: number;
  /** PyTorch's validation perplexity after the brief re-training. */
  validPerplexity: number;
  seconds: number;
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
  /** Whether the compiled model meets every budget (exit code 0). */
  met: boolean;
  /** With re-training: the shortlist, the winner's full re-training, and the seconds of each stage. */
  retraining?: {
    shortlist: ShortlistEntry[];
    winner: number;
    full: RetrainResult;
    stages: { stage: string; seconds: number }[];
  };
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
    finalists: options.retrain ? 1 : options.finalists,
    onProgress: options.onSearchProgress,
    expectedRecovery: options.retrain ? expectedRecovery : undefined,
  });
  await options.onSearchDone?.(search);
  const result: BudgetedCompileResult = { search, ...info, met: search.chosen !== undefined };
  if (options.retrain) {
    const shortlist = shortlistFor(search, options.retrain.shortlist ?? 3);
    if (shortlist.length > 0) return await retrainToBudget(result, shortlist, name, options);
  }
  const picked = search.chosen ?? (options.compileClosest ? search.closest : undefined);
  if (!picked) return result;
  // Tensor-train rules carry the modes the search measured (compiling them again makes no split choice).
  const recipe = evaluator.recipe(picked.methods);
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

/**
 * The candidates to re-train: measured combinations within the size (and speed) budget, best expected
 * perplexity after re-training first (what the search predicted with {@link expectedRecovery}).
 */
function shortlistFor(search: SearchResult, count: number): MeasuredModel[] {
  const { budget } = search;
  return search.combined
    .filter((m) =>
      m.bytes <= budget.targetBytes &&
      (budget.maxMsPerToken === undefined || (m.msPerToken ?? Infinity) <= budget.maxMsPerToken)
    )
    .sort((a, b) => a.predicted!.subsetPerplexity - b.predicted!.subsetPerplexity)
    .slice(0, count);
}

/**
 * Re-trains each shortlisted candidate briefly, the best of them fully, and compiles the result (the
 * re-trained file's own recipe: its trained parts packed as they are).
 */
async function retrainToBudget(
  result: BudgetedCompileResult,
  shortlist: MeasuredModel[],
  name: string,
  options: BudgetedCompileOptions,
): Promise<BudgetedCompileResult> {
  const settings = options.retrain!;
  const { search } = result;
  const stages: { stage: string; seconds: number }[] = [{ stage: "search", seconds: search.seconds }];
  const common = {
    python: settings.python,
    model: settings.modelPath,
    train: settings.trainPath,
    valid: settings.validPath,
    lr: settings.lr,
    threads: settings.threads,
  };
  const entries: ShortlistEntry[] = [];
  for (const [i, m] of shortlist.entries()) {
    const label = `shortlist ${i + 1}/${shortlist.length}`;
    const run = await retrain({
      ...common,
      recipe: assignmentRecipe(search.tensors, m.methods),
      out: `${settings.workDir}/shortlist-${i + 1}.onnx`,
      epochs: 1,
      maxBatches: settings.shortlistBatches ?? 300,
      validTokens: 6000,
      onLine: (line) => settings.onLine?.(label, line),
    });
    entries.push({
      methods: m.methods,
      bytes: m.bytes,
      subsetPerplexity: m.subsetPerplexity,
      expectedPerplexity: m.predicted!.subsetPerplexity,
      validPerplexity: run.validPerplexity,
      seconds: run.seconds,
    });
    stages.push({ stage: label, seconds: run.seconds });
  }
  const winner = entries.reduce(
    (best, e, i) => (e.validPerplexity < entries[best].validPerplexity ? i : best),
    0,
  );
  const recipe = assignmentRecipe(search.tensors, entries[winner].methods);
  const full = await retrain({
    ...common,
    recipe,
    out: `${settings.workDir}/retrained.onnx`,
    epochs: settings.epochs ?? 3,
    validTokens: 20000,
    onLine: (line) => settings.onLine?.("re-training", line),
  });
  stages.push({ stage: "re-training", seconds: full.seconds });
  const started = performance.now();
  const bytes = await Deno.readFile(full.out);
  const retrainedName = full.out.replace(/^.*[\\/]/, "");
  const compiled = await compileImported(importModel(bytes, { fileName: retrainedName }), bytes, {
    ...options,
    fileName: retrainedName,
    name,
    recipe: undefined,
    onProgress: options.onCompileProgress,
  });
  stages.push({ stage: "compile", seconds: (performance.now() - started) / 1000 });
  const { budget } = search;
  const validPerplexity = compiled.perplexityCompiled!;
  const met = compiled.bytes.length <= budget.targetBytes &&
    (budget.maxPplIncrease === undefined ||
      validPerplexity <= search.baseline.validPerplexity * (1 + budget.maxPplIncrease));
  return {
    ...result,
    picked: { ...shortlist[winner], bytes: compiled.bytes.length, validPerplexity },
    recipe,
    compiled,
    met,
    retraining: { shortlist: entries, winner, full, stages },
  };
}
