/**
 * `deno task compile IN.onnx --target-size BYTES … --eval VALID -o OUT.lem`: the budgeted compile's
 * command-line side — read the inputs, run compileToBudget (compiler/budget/budgeted_compile.ts: the
 * search chooses the recipe, the common compile pipeline compiles it) with progress on stderr, print the
 * frontier and the compile report, write the plot, the model and the recipe. Flags are checked by
 * compiler/cli/compile.ts before this runs.
 * @module
 */
import { formatPercent } from "../../runtime/cli/format.ts";
import { writeFileAtomic } from "../writer.ts";
import { COMPILER } from "../compile.ts";
import { describeBudget } from "../budget/budget.ts";
import { type BudgetedCompileResult, compileToBudget } from "../budget/budgeted_compile.ts";
import { checkPython, defaultPython } from "../budget/retrain.ts";
import { readInput } from "../../runtime/cli/args.ts";
import type { MeasuredModel, SearchProgress, SearchResult } from "../budget/search.ts";
import { frontierTable } from "../budget/table.ts";
import { paretoSvg, type PlotPoint } from "../budget/svg.ts";
import { assignmentRecipe, describeAssignment, recipeJson } from "../budget/assignment.ts";
import type { BudgetFlags, CompileCommand } from "./compile.ts";
import { checkOutputFolders, compileReport, readCompileInputs, stageProgress } from "./compile_report.ts";

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

/**
 * Runs the budgeted compile; returns the exit code (0, or 3 when no model meets the budget). `commandLine`
 * is recorded in the written recipe's description.
 */
export async function runBudgetedCompile(
  command: CompileCommand,
  flags: BudgetFlags,
  commandLine: string,
): Promise<number> {
  const { budget } = flags;
  const inputs = await readCompileInputs(command);
  await checkOutputFolders([command.out, command.writeRecipe, flags.plot]);
  const name = command.name ?? inputs.options.fileName.replace(/\.[^.]*$/, "");
  if (flags.finetune) {
    await readInput(flags.finetune.trainPath, "Training text");
    await checkPython(flags.finetune.python ?? defaultPython());
    await Deno.mkdir(flags.finetune.dir, { recursive: true });
  }
  const evalPath = command.evalPath!;
  let subsetTokens = 0;
  const printSearch = async (result: SearchResult) => {
    console.log(`Pareto frontier (perplexity on ${evalPath}; subset = ${subsetTokens} tokens):`);
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

    const limitPpl = budget.maxPplIncrease === undefined
      ? undefined
      : result.baseline.subsetPerplexity * (1 + budget.maxPplIncrease);
    await writeFileAtomic(
      flags.plot,
      new TextEncoder().encode(paretoSvg(plotPoints(result), {
        title: `${name}: size vs subset perplexity (${describeBudget(budget)})`,
        targetBytes: budget.targetBytes,
        maxPerplexity: limitPpl,
      })),
    );
    console.log(`wrote ${flags.plot}`);
  };
  const r = await compileToBudget(inputs.onnxBytes, {
    ...inputs.options,
    evalText: inputs.options.evalText!,
    budget,
    menu: flags.menu,
    subsetTokens: flags.subsetTokens,
    finalists: flags.finalists,
    compileClosest: flags.writeClosest,
    onSearchStart: (info) => {
      subsetTokens = info.subsetTokens;
      console.error(
        `budgeted compile of ${command.input} (${inputs.sizeText}): ${describeBudget(budget)}` +
          `${flags.finetune ? `, re-training on ${flags.finetune.trainPath}` : ""}\n` +
          `  ${info.evalTokens} validation tokens (subset: ${info.subsetTokens} in ${info.subsetPieces} ` +
          `pieces); ${flags.menu.length} methods per tensor + f32`,
      );
    },
    onSearchProgress: progressPrinter(),
    onSearchDone: (result) => printSearch(result),
    onCompileProgress: stageProgress(),
    retrain: flags.finetune && {
      python: flags.finetune.python ?? defaultPython(),
      modelPath: command.input,
      trainPath: flags.finetune.trainPath,
      validPath: evalPath,
      workDir: flags.finetune.dir,
      shortlist: flags.finetune.shortlist,
      shortlistBatches: flags.finetune.shortlistBatches,
      epochs: flags.finetune.epochs,
      onLine: retrainPrinter(),
    },
  });
  const { search: result } = r;
  if (r.retraining) printRetraining(r, evalPath);

  const { picked, compiled } = r;
  if (picked && compiled && (r.met || flags.writeClosest)) {
    await writeFileAtomic(command.out, compiled.bytes);
    const closest = r.met ? "" : " — the closest, NOT meeting the budget (--write-closest)";
    console.log(`\n${compileReport(compiled, command, `, target ${budget.targetBytes}${closest}`)}`);
    const rel = picked.validPerplexity / result.baseline.validPerplexity - 1;
    console.log(
      `${r.retraining ? "re-trained" : "search's measure"} on ${evalPath}: f32 ${
        result.baseline.validPerplexity.toFixed(4)
      }, chosen ${picked.validPerplexity.toFixed(4)} (${formatPercent(rel)})` +
        `${picked.msPerToken === undefined ? "" : `, ${picked.msPerToken.toFixed(3)} ms/token stepwise`}`,
    );
    if (command.writeRecipe !== undefined) {
      const recipe = assignmentRecipe(
        result.tensors,
        picked.methods,
        `Chosen by \`${commandLine}\` (${COMPILER}): ${compiled.bytes.length} bytes, valid perplexity ` +
          `${picked.validPerplexity.toFixed(2)}${r.retraining ? " re-trained" : ""} against f32's ${
            result.baseline.validPerplexity.toFixed(2)
          }. ` +
          (r.retraining
            ? `Reproduce without searching: /usr/bin/python3 models/finetune.py --model ${command.input} --recipe ` +
              `${command.writeRecipe} …, then deno task compile on its output`
            : `Reproduce without searching: deno task compile ${command.input} --recipe ${command.writeRecipe} -o OUT.lem`),
      );
      await writeFileAtomic(command.writeRecipe, new TextEncoder().encode(recipeJson(recipe)));
      console.log(`wrote ${command.writeRecipe}`);
    }
  }
  if (r.met) return 0;
  if (r.retraining) {
    console.error(
      `error: the re-trained model does not meet ${describeBudget(budget)}: ${
        compiled!.bytes.length
      } bytes, ` +
        `valid perplexity ${picked!.validPerplexity.toFixed(2)} against f32's ${
          result.baseline.validPerplexity.toFixed(2)
        }; ` +
        (flags.writeClosest
          ? `wrote it to ${command.out} anyway (--write-closest)`
          : `nothing written to ${command.out}`),
    );
    return 3;
  }
  const c = result.closest!;
  console.error(
    `error: no model meets ${describeBudget(budget)}: ${result.unmet}.\n` +
      `closest: ${c.bytes} bytes, valid perplexity ${c.validPerplexity.toFixed(2)} (${
        formatPercent(c.validPerplexity / result.baseline.validPerplexity - 1).replace(/^\+/, "")
      } over f32)${c.msPerToken === undefined ? "" : `, ${c.msPerToken.toFixed(3)} ms/token`}; misses ${
        c.violations.map((v) => `${v.flag} by ${(v.excess * 100).toFixed(1)} %`).join(", ")
      }\n  ${describeAssignment(result.tensors, c.methods)}\n` +
      (flags.writeClosest
        ? `wrote it to ${command.out} anyway (--write-closest)`
        : `nothing written to ${command.out}`),
  );
  return 3;
}

/** finetune.py's lines on stderr, prefixed with the run: `[shortlist 1/3] epoch 1 120/300 …`. */
function retrainPrinter(): (run: string, line: string) => void {
  return (run, line) => console.error(`[${run}] ${line.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /, "")}`);
}

/** The shortlist's brief re-training, the winner, and each stage's time. */
function printRetraining(r: BudgetedCompileResult, evalPath: string): void {
  const { shortlist, winner, full, stages } = r.retraining!;
  const names = r.search.tensors;
  console.log(`\nre-training shortlist (valid perplexity on ${evalPath} after ${"a brief re-training"}):`);
  const rows = shortlist.map((e, i) => [
    i === winner ? "*" : "",
    e.bytes.toLocaleString("en-US"),
    e.subsetPerplexity.toFixed(2),
    e.expectedPerplexity.toFixed(2),
    e.validPerplexity.toFixed(2),
    `${e.seconds.toFixed(0)} s`,
    describeAssignment(names, e.methods),
  ]);
  const header = [
    "",
    "bytes",
    "subset PPL as compressed",
    "expected re-trained",
    "valid PPL re-trained",
    "time",
    "methods",
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  for (const row of [header, ...rows]) {
    console.log(row.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd());
  }
  console.log(
    `winner re-trained: valid perplexity ${full.validPerplexity.toFixed(2)} (PyTorch) after ` +
      `${(full.trainSeconds / 60).toFixed(1)} min of training; ${full.out}`,
  );
  console.log(`stages: ${stages.map((s) => `${s.stage} ${s.seconds.toFixed(0)} s`).join(", ")}`);
}
