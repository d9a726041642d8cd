/**
 * `deno task compile IN.onnx --target-size BYTES … --eval VALID -o OUT.lem`: the budgeted compile's
 * command-line side — read the inputs, run the search (compiler/budget/search.ts) with progress on
 * stderr, print the frontier, write the plot, the model and the recipe. Flags are checked by
 * compiler/cli/compile.ts before this runs.
 * @module
 */
import { readInput } from "../../runtime/cli/args.ts";
import { formatBytes, tensorTable } from "./tensor_table.ts";
import { COMPILER } from "../compile.ts";
import { importOnnx, readVocabFile } from "../onnx/import.ts";
import { writeFileAtomic } from "../writer.ts";
import { Tokenizer } from "../../runtime/tokenizer.ts";
import { type Budget, describeBudget } from "../budget/budget.ts";
import { RuntimeEvaluator } from "../budget/evaluator.ts";
import {
  budgetSearch,
  type MeasuredModel,
  type SearchProgress,
  type SearchResult,
} from "../budget/search.ts";
import { frontierTable } from "../budget/table.ts";
import { paretoSvg, type PlotPoint } from "../budget/svg.ts";
import { assignmentRecipe, describeAssignment, recipeJson } from "../budget/assignment.ts";

/** What compile.ts hands over after checking the flags. */
export interface BudgetedCompileOptions {
  input: string;
  out: string;
  budget: Budget;
  menu: readonly string[];
  evalPath: string;
  evalLimit?: number;
  subsetTokens?: number;
  finalists?: number;
  plot: string;
  writeRecipe?: string;
  writeClosest: boolean;
  vocab?: string;
  tokenizer?: string;
  name?: string;
  /** The command line, recorded in the written recipe's description. */
  command: string;
}

function clock(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** Progress on stderr: `[sensitivity 12/57 · 1:23] decoder int4:g64: …`; the encode stage at most every 2 s. */
function progressPrinter(): (p: SearchProgress) => void {
  let last = 0;
  return (p) => {
    const now = performance.now();
    if (p.stage === "encode" && p.done < p.total && now - last < 2000) return;
    last = now;
    console.error(`[${p.stage} ${p.done}/${p.total} · ${clock(p.seconds)}] ${p.message}`);
  };
}

/** The plot's points: one-tensor models faint, combinations, the frontier joined, the chosen one a star. */
export function plotPoints(result: SearchResult): PlotPoint[] {
  const onFrontier = new Set<MeasuredModel>(result.frontier);
  const label = (m: MeasuredModel) => describeAssignment(result.tensors, m.methods);
  const points: PlotPoint[] = result.singles.map((m) => ({
    bytes: m.bytes,
    perplexity: m.subsetPerplexity,
    msPerToken: m.msPerToken,
    label: label(m),
    kind: "single",
  }));
  for (const m of [result.baseline, ...result.combined]) {
    points.push({
      bytes: m.bytes,
      perplexity: m.subsetPerplexity,
      msPerToken: m.msPerToken,
      label: label(m),
      kind: m === result.chosen
        ? "chosen"
        : m === result.baseline
        ? "baseline"
        : onFrontier.has(m)
        ? "frontier"
        : "candidate",
    });
  }
  return points;
}

/** Why choices were discarded, counted: `choices: 96 (tensor × method), 51 discarded — 14 no smaller than f32, …`. */
export function discardSummary(result: SearchResult): string {
  const reasons = new Map<string, number>();
  for (const c of result.choices) {
    if (!c.discarded) continue;
    const reason = c.discarded.startsWith("dominated by")
      ? "dominated on bytes and relative error"
      : c.discarded.startsWith("dominated after")
      ? "dominated after measuring"
      : c.discarded.startsWith("alone it raises")
      ? "too damaging alone"
      : c.discarded.startsWith("not measured")
      ? "skipped after a too damaging one"
      : c.discarded.startsWith("cannot encode")
      ? "cannot encode"
      : c.discarded.startsWith("cannot fit")
      ? "cannot fit the size target"
      : c.discarded;
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  const total = [...reasons.values()].reduce((a, b) => a + b, 0);
  return `choices: ${result.choices.length} (tensor × method), ${total} discarded${
    total ? ` — ${[...reasons].map(([r, n]) => `${n} ${r}`).join(", ")}` : ""
  } (docs/budget.md)`;
}

/** Runs the budgeted compile; returns the exit code (0, or 3 when no model meets the budget). */
export async function runBudgetedCompile(o: BudgetedCompileOptions): Promise<number> {
  const decoder = new TextDecoder();
  const onnxBytes = await readInput(o.input, "Input model");
  const vocab = o.vocab
    ? readVocabFile(decoder.decode(await readInput(o.vocab, "Vocabulary file")))
    : undefined;
  const evalText = decoder.decode(await readInput(o.evalPath, "Evaluation text"));
  const fileName = o.input.replace(/^.*[\\/]/, "");
  const ir = importOnnx(onnxBytes, { fileName, vocab, tokenizer: o.tokenizer });
  const tokenizer = new Tokenizer(ir.vocab, ir.unkId, ir.eosId, ir.tokenizer);
  const all = tokenizer.encode(evalText).ids;
  const ids = o.evalLimit ? all.slice(0, o.evalLimit) : all;
  if (ids.length < 2) throw new Error(`The --eval text holds ${ids.length} token(s); at least 2 are needed`);
  const name = o.name ?? fileName.replace(/\.[^.]*$/, "");
  const evaluator = new RuntimeEvaluator(ir, ids, {
    subsetTokens: o.subsetTokens,
    metadata: { name, compiler: COMPILER },
  });
  const subsetTokens = evaluator.subset.reduce((s, seg) => s + seg.length, 0);
  console.error(
    `budgeted compile of ${o.input}: ${describeBudget(o.budget)}\n` +
      `  ${ids.length} validation tokens (subset: ${subsetTokens} in ${evaluator.subset.length} pieces); ` +
      `${evaluator.tensors.length} tensors × ${o.menu.length} methods + f32`,
  );

  const result = await budgetSearch(evaluator, {
    budget: o.budget,
    menu: o.menu,
    finalists: o.finalists,
    onProgress: progressPrinter(),
  });

  console.log(`Pareto frontier (perplexity on ${o.evalPath}; subset = ${subsetTokens} tokens):`);
  console.log(frontierTable(result));
  const evals = result.costs.reduce((s, c) => s + c.evaluations, 0);
  const tokens = result.costs.reduce((s, c) => s + c.tokens, 0);
  console.log(
    `search: ${evals} models scored (${tokens.toLocaleString("en-US")} tokens) in ${
      result.seconds.toFixed(0)
    } s — ${
      result.costs.map((c) => `${c.stage} ${c.evaluations} in ${c.seconds.toFixed(0)} s`).join(", ")
    }; ms/token is best of 3 over 200 tokens on a shared machine: noisy`,
  );
  console.log(discardSummary(result));

  const limitPpl = o.budget.maxPplIncrease === undefined
    ? undefined
    : result.baseline.subsetPerplexity * (1 + o.budget.maxPplIncrease);
  await writeFileAtomic(
    o.plot,
    new TextEncoder().encode(paretoSvg(plotPoints(result), {
      title: `${name}: size vs subset perplexity (${describeBudget(o.budget)})`,
      targetBytes: o.budget.targetBytes,
      maxPerplexity: limitPpl,
    })),
  );
  console.log(`wrote ${o.plot}`);

  const pick = result.chosen ?? (o.writeClosest ? result.closest : undefined);
  if (pick) {
    const bytes = evaluator.write(pick.methods, {
      perplexity_compiled: pick.validPerplexity,
      perplexity_f32: result.baseline.validPerplexity,
      eval_tokens: ids.length - 1,
      budget_target_bytes: o.budget.targetBytes,
    });
    if (bytes.length !== pick.bytes) {
      throw new Error(`internal: the written model has ${bytes.length} bytes, measured ${pick.bytes}`);
    }
    await writeFileAtomic(o.out, bytes);
    console.log(`\n${tensorTable(evaluator.reports(pick.methods)).trimEnd()}`);
    const rel = pick.validPerplexity! / result.baseline.validPerplexity - 1;
    console.log(
      `\nwrote ${o.out}: ${
        formatBytes(bytes.length)
      } (${bytes.length} bytes, target ${o.budget.targetBytes})` +
        `${pick === result.chosen ? "" : " — the closest, NOT meeting the budget (--write-closest)"}`,
    );
    console.log(
      `perplexity on ${o.evalPath} (${ids.length - 1} tokens): f32 ${
        result.baseline.validPerplexity.toFixed(4)
      }, ` +
        `compiled ${pick.validPerplexity!.toFixed(4)} (${rel >= 0 ? "+" : ""}${(rel * 100).toFixed(2)} %)` +
        `${pick.msPerToken === undefined ? "" : `, ${pick.msPerToken.toFixed(3)} ms/token stepwise`}`,
    );
    if (o.writeRecipe !== undefined) {
      const recipe = assignmentRecipe(
        result.tensors,
        pick.methods,
        `Chosen by \`${o.command}\` (${COMPILER}): ${bytes.length} bytes, valid perplexity ` +
          `${pick.validPerplexity!.toFixed(2)} against f32's ${
            result.baseline.validPerplexity.toFixed(2)
          }. ` +
          `Reproduce without searching: deno task compile ${o.input} --recipe ${o.writeRecipe} -o OUT.lem`,
      );
      await writeFileAtomic(o.writeRecipe, new TextEncoder().encode(recipeJson(recipe)));
      console.log(`wrote ${o.writeRecipe}`);
    }
  }
  if (result.chosen) return 0;
  const c = result.closest!;
  console.error(
    `error: no model meets ${describeBudget(o.budget)}: ${result.unmet}.\n` +
      `closest: ${c.bytes} bytes, valid perplexity ${c.validPerplexity.toFixed(2)} (${
        ((c.validPerplexity / result.baseline.validPerplexity - 1) * 100).toFixed(2)
      } % over f32)${c.msPerToken === undefined ? "" : `, ${c.msPerToken.toFixed(3)} ms/token`}; misses ${
        c.violations.map((v) => `${v.flag} by ${(v.excess * 100).toFixed(1)} %`).join(", ")
      }\n  ${describeAssignment(result.tensors, c.methods)}\n` +
      (o.writeClosest ? `wrote it to ${o.out} anyway (--write-closest)` : `nothing written to ${o.out}`),
  );
  return 3;
}
