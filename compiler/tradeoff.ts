/**
 * The size / perplexity / speed trade-off of every compression method on one model: each method string
 * is applied to every weight matrix (compressModel), written to `.lem`, loaded by the runtime, and
 * measured — file bytes, ratio to f32, validation and test perplexity, ms/token stepwise (feed +
 * logProbs, what a keyboard does) and over a sequence (logits of 256 tokens at once, what scoring does).
 * `deno task tradeoff` (compiler/cli/tradeoff.ts) prints it as a markdown table.
 * @module
 */
import { bestOf, sequenceMsPerToken, stepwiseMsPerToken } from "../runtime/timing.ts";
import { formatPercent } from "../runtime/cli/format.ts";
import type { IrModel } from "./ir.ts";
import { writeLem } from "./writer.ts";
import { compressModel } from "./compress.ts";
import { compressChoosingSplits } from "./tt_split_choice.ts";
import { methodRecipe, type Recipe } from "./recipe.ts";
import { COMPILER } from "./compile.ts";
import { LstmModel } from "../runtime/model.ts";
import type { PlotPoint } from "./budget/svg.ts";

/** Every method at two or more settings (the default list of `deno task tradeoff`). */
export const DEFAULT_METHODS: readonly string[] = [
  "f32",
  "f16",
  "int8",
  "int4",
  "int4:g64",
  "prune:0.5",
  "prune:0.8+int8",
  "prune:0.9+int8",
  "lowrank:100",
  "lowrank:50+int8",
  "lowrank:e0.9+int8",
  "tt:32",
  "tt:16+int8",
];

/** One row of the table. */
export interface TradeoffRow {
  method: string;
  /** For a model re-trained with the compression in place (models/finetune.py): its training. */
  retrained?: { epochs: number; trainSeconds: number };
  /** The largest tensor's (decoder's) encoding as the file describes it, e.g. "lowrank r50 (int8 per-row × int8 per-row)". */
  detail: string;
  fileBytes: number;
  ratioToF32: number;
  validPerplexity: number;
  testPerplexity: number;
  /** ms per token, feed + logProbs one token at a time. */
  msPerTokenStepwise: number;
  /** ms per token, logits of a whole sequence at once (matmat path). */
  msPerTokenSequence: number;
  /** Seconds spent compressing. */
  compressSeconds: number;
}

/** Options for {@link measureTradeoff}. */
export interface TradeoffOptions {
  methods?: readonly string[];
  /** Token ids of the validation and test texts (already limited). */
  validIds: number[];
  testIds: number[];
  /** Tokens fed one at a time for the stepwise timing (default 200). */
  stepTokens?: number;
  /** Tokens of the sequence timing (default 256). */
  sequenceTokens?: number;
  name?: string;
  /**
   * Models re-trained by models/finetune.py (each an IR carrying its trained parts), measured like the
   * methods and listed after them: `method` names the recipe they were re-trained with.
   */
  retrained?: readonly { ir: IrModel; epochs: number; trainSeconds: number }[];
  onRow?: (row: TradeoffRow) => void;
  onStage?: (message: string) => void;
}

/**
 * Measures every method on `ir`. Method strings are checked before any work (RecipeError).
 *
 * @example
 * ```ts
 * const rows = await measureTradeoff(ir, { validIds, testIds, methods: ["f32", "int8"] });
 * console.log(tradeoffMarkdown(rows));
 * ```
 */
export async function measureTradeoff(ir: IrModel, options: TradeoffOptions): Promise<TradeoffRow[]> {
  const methods = options.methods ?? DEFAULT_METHODS;
  const recipes = methods.map((m) => methodRecipe(m)); // all checked first
  const rows: TradeoffRow[] = [];
  const meta = { name: options.name ?? "tradeoff", compiler: COMPILER };
  const f32Bytes = writeLem(compressModel(ir, methodRecipe("f32"), meta).model).length;
  const timingIds = [...options.validIds, ...options.testIds];
  const stepTokens = Math.min(options.stepTokens ?? 200, timingIds.length);
  const seqTokens = Math.min(options.sequenceTokens ?? 256, timingIds.length);
  const entries = [
    ...methods.map((method, i) => ({ method, ir, recipe: recipes[i], retrained: undefined })),
    ...(options.retrained ?? []).map((r) => {
      if (!r.ir.trained) {
        throw new Error(`${r.ir.source.file} carries no trained parts (not from finetune.py)`);
      }
      return {
        method: recipeLabel(r.ir.trained.recipe),
        ir: r.ir,
        recipe: r.ir.trained.recipe,
        retrained: { epochs: r.epochs, trainSeconds: r.trainSeconds },
      };
    }),
  ];
  for (const { method, ir: model, recipe, retrained } of entries) {
    const label = retrained ? `${method} (re-trained)` : method;
    options.onStage?.(`${label}: compressing`);
    const t0 = performance.now();
    const { model: encoded } = await compressChoosingSplits(model, recipe, meta);
    const bytes = writeLem(encoded);
    const compressSeconds = (performance.now() - t0) / 1000;
    const lm = await LstmModel.load(bytes);
    options.onStage?.(`${label}: perplexity`);
    const valid = lm.score(options.validIds).perplexity;
    const test = lm.score(options.testIds).perplexity;
    options.onStage?.(`${label}: speed`);
    const step = timingIds.slice(0, stepTokens);
    const seq = timingIds.slice(0, seqTokens);
    const msPerTokenStepwise = bestOf(3, () => stepwiseMsPerToken(lm, step));
    const msPerTokenSequence = bestOf(3, () => sequenceMsPerToken(lm, seq));
    const largest = lm.info.tensors.reduce((a, b) => (b.rows * b.cols > a.rows * a.cols ? b : a));
    const row: TradeoffRow = {
      method,
      ...(retrained ? { retrained } : {}),
      detail: largest.encoding,
      fileBytes: bytes.length,
      ratioToF32: bytes.length / f32Bytes,
      validPerplexity: valid,
      testPerplexity: test,
      msPerTokenStepwise,
      msPerTokenSequence,
      compressSeconds,
    };
    rows.push(row);
    options.onRow?.(row);
  }
  return rows;
}

/**
 * A recipe in one short line: the method where every rule gives the same one (`lowrank:50+int8`), else
 * `tensor=method` pairs (`embedding=lowrank:96+int4:g96;decoder=int4:g50;layers.*=int4:g50`).
 */
export function recipeLabel(recipe: Recipe): string {
  const methods = new Set(recipe.rules.map((r) => r.method));
  if (methods.size === 1 && recipe.rules.some((r) => r.tensors === "*")) return [...methods][0];
  return recipe.rules.map((r) => `${r.tensors}=${r.method}`).join(";");
}

/**
 * The rows as a markdown table (perplexity change relative to the f32 row when there is one); re-trained
 * rows say so, with their epochs and training time.
 */
export function tradeoffMarkdown(rows: readonly TradeoffRow[]): string {
  const base = rows.find((r) => r.method === "f32" && !r.retrained);
  const change = (v: number, b?: number) => (b ? ` (${formatPercent(v / b - 1, 1)})` : "");
  const header = [
    "method",
    "trained",
    "largest tensor",
    "file bytes",
    "ratio to f32",
    "valid PPL",
    "test PPL",
    "ms/token stepwise",
    "ms/token sequence",
  ];
  const trained = (r: TradeoffRow) =>
    r.retrained
      ? `re-trained ${r.retrained.epochs} epoch${r.retrained.epochs === 1 ? "" : "s"}, ${
        (r.retrained.trainSeconds / 60).toFixed(0)
      } min`
      : "post hoc";
  const lines = [
    `| ${header.join(" | ")} |`,
    `| ${header.map((_, i) => (i < 3 ? "---" : "---:")).join(" | ")} |`,
    ...rows.map((r) =>
      `| \`${r.method}\` | ${trained(r)} | ${r.detail} | ${r.fileBytes.toLocaleString("en-US")} | ${
        (r.ratioToF32 * 100).toFixed(1)
      } % | ${r.validPerplexity.toFixed(2)}${change(r.validPerplexity, base?.validPerplexity)} | ${
        r.testPerplexity.toFixed(2)
      }${change(r.testPerplexity, base?.testPerplexity)} | ${r.msPerTokenStepwise.toFixed(3)} | ${
        r.msPerTokenSequence.toFixed(3)
      } |`
    ),
  ];
  return lines.join("\n") + "\n";
}

/** The rows as a plot: file size against test perplexity, post hoc grey, re-trained blue and joined. */
export function tradeoffPoints(rows: readonly TradeoffRow[]): PlotPoint[] {
  return rows.map((r) => ({
    bytes: r.fileBytes,
    perplexity: r.testPerplexity,
    msPerToken: r.msPerTokenStepwise,
    label: `${r.method} (${r.retrained ? "re-trained" : "post hoc"})`,
    kind: r.method === "f32" && !r.retrained ? "baseline" : r.retrained ? "frontier" : "candidate",
  }));
}
