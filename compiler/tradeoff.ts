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
import { methodRecipe } from "./recipe.ts";
import { COMPILER } from "./compile.ts";
import { LstmModel } from "../runtime/model.ts";

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
  for (const [i, method] of methods.entries()) {
    options.onStage?.(`${method}: compressing`);
    const t0 = performance.now();
    const { model } = compressModel(ir, recipes[i], meta);
    const bytes = writeLem(model);
    const compressSeconds = (performance.now() - t0) / 1000;
    const lm = await LstmModel.load(bytes);
    options.onStage?.(`${method}: perplexity`);
    const valid = lm.score(options.validIds).perplexity;
    const test = lm.score(options.testIds).perplexity;
    options.onStage?.(`${method}: speed`);
    const step = timingIds.slice(0, stepTokens);
    const seq = timingIds.slice(0, seqTokens);
    const msPerTokenStepwise = bestOf(3, () => stepwiseMsPerToken(lm, step));
    const msPerTokenSequence = bestOf(3, () => sequenceMsPerToken(lm, seq));
    const largest = lm.info.tensors.reduce((a, b) => (b.rows * b.cols > a.rows * a.cols ? b : a));
    const row: TradeoffRow = {
      method,
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

/** The rows as a markdown table (perplexity change relative to the f32 row when there is one). */
export function tradeoffMarkdown(rows: readonly TradeoffRow[]): string {
  const base = rows.find((r) => r.method === "f32");
  const change = (v: number, b?: number) => (b ? ` (${formatPercent(v / b - 1, 1)})` : "");
  const header = [
    "method",
    "largest tensor",
    "file bytes",
    "ratio to f32",
    "valid PPL",
    "test PPL",
    "ms/token stepwise",
    "ms/token sequence",
  ];
  const lines = [
    `| ${header.join(" | ")} |`,
    `| ${header.map((_, i) => (i < 2 ? "---" : "---:")).join(" | ")} |`,
    ...rows.map((r) =>
      `| \`${r.method}\` | ${r.detail} | ${r.fileBytes.toLocaleString("en-US")} | ${
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
