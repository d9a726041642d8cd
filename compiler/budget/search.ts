/**
 * The budgeted compile's search: which method each weight matrix gets so that the model meets a budget
 * (file size, and optionally perplexity increase and ms/token) with the lowest validation perplexity.
 *
 * Stages (docs/budget.md has the reasoning and the measured cost):
 * 1. baseline — the f32 model on the subset (with ms/token) and on the full validation text.
 * 2. encode — every (tensor, menu method) pair is encoded once; a choice is discarded without measuring
 *    when it is no smaller than f32, cannot fit the size target even with the smallest choice for every
 *    other tensor, or is dominated within its tensor on (bytes, relative Frobenius error).
 * 3. sensitivity — each remaining choice is measured alone (that tensor compressed, the others f32) on the
 *    subset: Δ = ln PPL − ln PPL(f32); with a speed budget also Δ ms/token. Choices dominated on
 *    (bytes, Δ[, Δms]) within their tensor are dropped.
 * 4. combine — assuming Δs and bytes add up, the predicted Pareto frontier of whole models
 *    (compiler/budget/combine.ts); the best predicted combinations within the budget, and a few along
 *    the frontier at other sizes (for the plot), are built and measured on the subset with ms/token.
 * 5. final — the best few measured combinations within the size (and speed) budget are scored on the
 *    full validation text; the lowest perplexity that meets every budget wins. When none does, the
 *    closest (smallest summed relative excess) is reported with the budgets nobody met.
 *
 * The measuring is behind {@link Evaluator} so that tests can drive the search with a fake.
 * @module
 */
import { formatPercent } from "../../runtime/cli/format.ts";
import { type Budget, type Violation, violations, violationScore } from "./budget.ts";
import { combineOptions, type TensorOption } from "./combine.ts";
import { DEFAULT_MENU } from "./menu.ts";
import { dominates, paretoFront } from "./pareto.ts";

/** Bytes and error of one (tensor, method) encoding. */
export interface OptionInfo {
  bytes: number;
  relativeError: number;
  detail: string;
}

/** A model measured on validation tokens. */
export interface Measurement {
  /** File bytes. */
  bytes: number;
  perplexity: number;
  /** Tokens scored. */
  tokens: number;
  msPerToken?: number;
}

/** What the search needs measured. */
export interface Evaluator {
  /** The weight matrices in file order. */
  readonly tensors: readonly { name: string; params: number }[];
  /** Encodes tensor `t` by `method` (throws when the method cannot apply to it). */
  option(t: number, method: string): OptionInfo;
  /** Exact file bytes of an assignment (one method per tensor). */
  fileBytes(methods: readonly string[]): number;
  /** Scores an assignment on the subset or the full validation text, timing it when asked. */
  measure(
    methods: readonly string[],
    what: { tokens: "subset" | "full"; timing: boolean },
  ): Promise<Measurement>;
  /** Times an assignment again (ms/token). */
  time(methods: readonly string[]): Promise<number>;
}

/** Where the search is, for progress lines. */
export type SearchStage = "baseline" | "encode" | "sensitivity" | "combine" | "final";

/** A progress report: stage, candidate i of n, seconds since the search started, what was just done. */
export interface SearchProgress {
  stage: SearchStage;
  done: number;
  total: number;
  seconds: number;
  message: string;
}

/** Options of {@link budgetSearch}. */
export interface SearchOptions {
  budget: Budget;
  /** Methods tried on every tensor besides f32 (default {@link DEFAULT_MENU}). */
  menu?: readonly string[];
  /** Best predicted combinations within the budget measured on the subset (default 8). */
  feasibleCandidates?: number;
  /** Further combinations along the predicted frontier at other sizes (default 6). */
  spreadCandidates?: number;
  /** Measured combinations scored on the full validation text (default 3). */
  finalists?: number;
  /**
   * A choice that alone raises the subset perplexity by more than this fraction (default 0.5) is not
   * combined, and the same tensor's choices with more relative error are not measured.
   */
  maxSingleIncrease?: number;
  /**
   * For a model that will be re-trained with the chosen compression (`--finetune`): the fraction of a
   * method's measured Δ ln PPL expected to remain afterwards (default: 1 for every method, nothing
   * recovered). Sensitivities are scaled by it before the cap, the dominance check and combining.
   */
  expectedRecovery?: (method: string) => number;
  onProgress?: (progress: SearchProgress) => void;
}

/** A whole model the search measured. */
export interface MeasuredModel {
  methods: string[];
  stage: "baseline" | "sensitivity" | "combined";
  bytes: number;
  /** Perplexity on the subset. */
  subsetPerplexity: number;
  /** Perplexity on the full validation text (baseline and finalists). */
  validPerplexity?: number;
  msPerToken?: number;
  /** What combining predicted (combined only). */
  predicted?: { bytes: number; subsetPerplexity: number; msPerToken?: number };
}

/** One (tensor, method) choice with what was learned about it. */
export interface ChoiceRecord extends OptionInfo {
  tensor: string;
  method: string;
  /**
   * Δ ln PPL when only this tensor is compressed (measured choices), times the expected recovery when the
   * model will be re-trained ({@link SearchOptions.expectedRecovery}); what combining adds up.
   */
  delta?: number;
  /** Δ ln PPL as measured, before any expected recovery. */
  measuredDelta?: number;
  /** Δ ms/token likewise (with a speed budget). */
  dms?: number;
  /** Why it was not used, when it was not. */
  discarded?: string;
}

/** Evaluations, tokens scored and wall time of one stage. */
export interface StageCost {
  stage: SearchStage;
  evaluations: number;
  tokens: number;
  timings: number;
  seconds: number;
}

/** What the search found. */
export interface SearchResult {
  budget: Budget;
  tensors: string[];
  baseline: MeasuredModel & { validPerplexity: number };
  choices: ChoiceRecord[];
  /** One-tensor models of the sensitivity stage. */
  singles: MeasuredModel[];
  /** Combined models measured on the subset (baseline excluded). */
  combined: MeasuredModel[];
  /** Non-dominated among the baseline and combined models on (bytes, subset PPL, ms/token). */
  frontier: MeasuredModel[];
  /** Those scored on the full validation text. */
  finalists: MeasuredModel[];
  /** The lowest full validation perplexity meeting every budget. */
  chosen?: MeasuredModel & { validPerplexity: number };
  /** When nothing met the budget: the finalist that came closest, and what it misses. */
  closest?: MeasuredModel & { validPerplexity: number; violations: Violation[] };
  /** When nothing met the budget: which budgets, in words. */
  unmet?: string;
  /**
   * Predicted bytes with every tensor at its smallest usable choice (not discarded as too damaging): no
   * model the search would consider is smaller.
   */
  minimumBytes: number;
  costs: StageCost[];
  seconds: number;
}

const key = (methods: readonly string[]) => methods.join("\u0000");

type Full = MeasuredModel & { validPerplexity: number };

/** One search in progress: the evaluator, the options, stage costs and progress reporting. */
class SearchRun {
  readonly names: string[];
  readonly f32: string[];
  readonly withSpeed: boolean;
  readonly costs: StageCost[] = [];
  #cost?: StageCost;
  readonly #started = performance.now();

  constructor(readonly evaluator: Evaluator, readonly options: SearchOptions) {
    this.names = evaluator.tensors.map((t) => t.name);
    this.f32 = this.names.map(() => "f32");
    this.withSpeed = options.budget.maxMsPerToken !== undefined;
  }

  get budget(): Budget {
    return this.options.budget;
  }

  seconds(): number {
    return (performance.now() - this.#started) / 1000;
  }

  /** Starts accounting for `stage` (and closes the previous stage's wall time). */
  begin(stage: SearchStage): void {
    if (this.#cost) this.#cost.seconds = this.seconds() - this.#cost.seconds;
    this.#cost = { stage, evaluations: 0, tokens: 0, timings: 0, seconds: this.seconds() };
    this.costs.push(this.#cost);
  }

  /** Closes the last stage's wall time. */
  end(): void {
    this.#cost!.seconds = this.seconds() - this.#cost!.seconds;
  }

  progress(stage: SearchStage, done: number, total: number, message: string): void {
    this.options.onProgress?.({ stage, done, total, seconds: this.seconds(), message });
  }

  async measure(methods: readonly string[], tokens: "subset" | "full", timing: boolean) {
    const m = await this.evaluator.measure(methods, { tokens, timing });
    this.#cost!.evaluations++;
    this.#cost!.tokens += m.tokens;
    if (timing) this.#cost!.timings++;
    return m;
  }

  async retime(methods: readonly string[]): Promise<number> {
    this.#cost!.timings++;
    return await this.evaluator.time(methods);
  }
}

/**
 * Searches per-tensor methods for the model `evaluator` measures, stage by stage (see the module doc):
 * {@link measureBaseline}, {@link encodeChoices}, {@link measureSensitivity}, {@link measureCombinations},
 * {@link scoreFinalists}, then {@link decide}.
 *
 * @example
 * ```ts
 * const evaluator = new RuntimeEvaluator(ir, validIds, { metadata: { name: "ptb-small", compiler: COMPILER } });
 * const result = await budgetSearch(evaluator, { budget: { targetBytes: 3_000_000 } });
 * if (result.chosen) console.log(assignmentRecipe(result.tensors, result.chosen.methods));
 * ```
 */
export async function budgetSearch(evaluator: Evaluator, options: SearchOptions): Promise<SearchResult> {
  const run = new SearchRun(evaluator, options);
  const baseline = await measureBaseline(run);
  const { choices, perTensor, fixedBytes } = encodeChoices(run, baseline);
  const singles = await measureSensitivity(run, baseline, perTensor);
  const minimumBytes = fixedBytes +
    perTensor.reduce((sum, opts) => sum + Math.min(...opts.map((o) => o.bytes)), 0);
  const combined = await measureCombinations(run, baseline, perTensor, fixedBytes);
  const pool: MeasuredModel[] = [baseline, ...combined];
  const finalists = await scoreFinalists(run, baseline, pool);
  run.end();
  return decide(run, {
    budget: run.budget,
    tensors: run.names,
    baseline,
    choices,
    singles,
    combined,
    frontier: paretoFront(pool, [
      (m) => m.bytes,
      (m) => m.subsetPerplexity,
      (m) => m.msPerToken ?? Infinity,
    ]),
    finalists,
    minimumBytes,
    costs: run.costs,
    seconds: 0,
  }, pool);
}

/** Stage 1: the f32 model on the subset (with ms/token) and on the full validation text. */
async function measureBaseline(run: SearchRun): Promise<Full> {
  run.begin("baseline");
  run.progress("baseline", 0, 2, "f32 on the subset");
  const bs = await run.measure(run.f32, "subset", true);
  run.progress(
    "baseline",
    1,
    2,
    `f32: subset perplexity ${bs.perplexity.toFixed(2)}; now the full validation text`,
  );
  const bf = await run.measure(run.f32, "full", false);
  run.progress("baseline", 2, 2, `f32: ${bs.bytes} bytes, valid perplexity ${bf.perplexity.toFixed(2)}`);
  return {
    methods: run.f32,
    stage: "baseline" as const,
    bytes: bs.bytes,
    subsetPerplexity: bs.perplexity,
    validPerplexity: bf.perplexity,
    msPerToken: bs.msPerToken,
  };
}

/**
 * Stage 2: every (tensor, menu method) choice encoded; the hopeless ones discarded without measuring.
 * `perTensor[t]` holds tensor t's usable choices, f32 first; `fixedBytes` is what the file holds besides
 * the weight matrices.
 */
function encodeChoices(
  run: SearchRun,
  baseline: MeasuredModel,
): { choices: ChoiceRecord[]; perTensor: ChoiceRecord[][]; fixedBytes: number } {
  run.begin("encode");
  const { names, evaluator, budget } = run;
  const menu = run.options.menu ?? DEFAULT_MENU;
  const T = names.length;
  const choices: ChoiceRecord[] = [];
  let perTensor: ChoiceRecord[][] = names.map(() => []);
  let encoded = 0;
  for (let t = 0; t < T; t++) {
    const base = { tensor: names[t], method: "f32", ...evaluator.option(t, "f32"), delta: 0, dms: 0 };
    perTensor[t].push(base);
    for (const method of menu) {
      run.progress("encode", ++encoded, T * menu.length, `${names[t]} ${method}`);
      let info: OptionInfo;
      try {
        info = evaluator.option(t, method);
      } catch (e) {
        choices.push({
          tensor: names[t],
          method,
          bytes: NaN,
          relativeError: NaN,
          detail: "",
          discarded: `cannot encode: ${(e as Error).message}`,
        });
        continue;
      }
      const c: ChoiceRecord = { tensor: names[t], method, ...info };
      if (info.bytes >= base.bytes) c.discarded = "no smaller than f32";
      else perTensor[t].push(c);
      choices.push(c);
    }
  }
  const fixedBytes = baseline.bytes - perTensor.reduce((s, opts) => s + opts[0].bytes, 0);
  const minBytes = perTensor.map((opts) => Math.min(...opts.map((o) => o.bytes)));
  const minTotal = fixedBytes + minBytes.reduce((a, b) => a + b, 0);
  perTensor = perTensor.map((opts, t) =>
    opts.filter((c) => {
      if (c.method === "f32") return true;
      // (Only when the target is reachable at all: otherwise every choice is measured, to find the closest.)
      if (minTotal <= budget.targetBytes && minTotal - minBytes[t] + c.bytes > budget.targetBytes) {
        c.discarded = "cannot fit the size target even with the smallest choice for every other tensor";
        return false;
      }
      const better = opts.find((o) =>
        o !== c && dominates(o, c, [(x: ChoiceRecord) => x.bytes, (x: ChoiceRecord) => x.relativeError])
      );
      if (better) {
        c.discarded = `dominated by ${better.method} (no more bytes, no larger relative error)`;
        return false;
      }
      return true;
    })
  );
  return { choices, perTensor, fixedBytes };
}

/**
 * Stage 3: each remaining choice measured alone (that tensor compressed, the others f32), least relative
 * error first within each tensor; once a choice alone raises perplexity past the cap, the tensor's choices
 * with more error are not measured. Then choices dominated on (bytes, Δ[, Δms]) are dropped: `perTensor`
 * is filtered in place. Returns the one-tensor models measured.
 */
async function measureSensitivity(
  run: SearchRun,
  baseline: MeasuredModel,
  perTensor: ChoiceRecord[][],
): Promise<MeasuredModel[]> {
  run.begin("sensitivity");
  const { withSpeed } = run;
  const T = perTensor.length;
  const cap = Math.log(1 + (run.options.maxSingleIncrease ?? 0.5));
  const singles: MeasuredModel[] = [];
  const toMeasure = perTensor.flatMap((opts, t) =>
    opts.filter((c) => c.method !== "f32").sort((a, b) => a.relativeError - b.relativeError).map((c) => ({
      t,
      c,
    }))
  );
  const tooDamaging = new Map<number, ChoiceRecord>();
  for (const [i, { t, c }] of toMeasure.entries()) {
    const worse = tooDamaging.get(t);
    if (worse && c.relativeError >= worse.relativeError) {
      c.discarded = `not measured: more relative error than ${worse.method}, which alone already raised ` +
        `the subset perplexity by ${formatPercent(Math.exp(worse.measuredDelta!) - 1)}`;
      run.progress(
        "sensitivity",
        i + 1,
        toMeasure.length,
        `${c.tensor} ${c.method}: skipped (${c.discarded})`,
      );
      continue;
    }
    const methods = run.f32.slice();
    methods[t] = c.method;
    const m = await run.measure(methods, "subset", withSpeed);
    c.measuredDelta = Math.log(m.perplexity) - Math.log(baseline.subsetPerplexity);
    c.delta = c.measuredDelta * (run.options.expectedRecovery?.(c.method) ?? 1);
    if (withSpeed) c.dms = m.msPerToken! - baseline.msPerToken!;
    singles.push({
      methods,
      stage: "sensitivity",
      bytes: m.bytes,
      subsetPerplexity: m.perplexity,
      msPerToken: m.msPerToken,
    });
    if (c.delta > cap) {
      const expected = c.delta === c.measuredDelta
        ? ""
        : `, ${formatPercent(Math.exp(c.delta) - 1)} expected after re-training`;
      c.discarded = `alone it raises the subset perplexity by ${
        formatPercent(m.perplexity / baseline.subsetPerplexity - 1)
      }${expected} (more than ${formatPercent(Math.exp(cap) - 1)})`;
      if (!worse || c.relativeError < worse.relativeError) tooDamaging.set(t, c);
    }
    run.progress(
      "sensitivity",
      i + 1,
      toMeasure.length,
      `${c.tensor} ${c.method}: ${c.bytes} bytes, subset perplexity ${m.perplexity.toFixed(2)} (${
        formatPercent(m.perplexity / baseline.subsetPerplexity - 1)
      })${c.discarded ? ": too damaging" : ""}`,
    );
  }
  for (let t = 0; t < T; t++) perTensor[t] = perTensor[t].filter((c) => !c.discarded);
  const objectives = withSpeed
    ? [(x: ChoiceRecord) => x.bytes, (x: ChoiceRecord) => x.delta!, (x: ChoiceRecord) => x.dms!]
    : [(x: ChoiceRecord) => x.bytes, (x: ChoiceRecord) => x.delta!];
  for (let t = 0; t < T; t++) {
    const kept = new Set(paretoFront(perTensor[t], objectives));
    for (const c of perTensor[t]) {
      if (kept.has(c)) continue;
      const better = perTensor[t].find((o) => o !== c && kept.has(o) && dominates(o, c, objectives));
      c.discarded = `dominated after measuring by ${better?.method ?? "another choice"}`;
    }
    perTensor[t] = perTensor[t].filter((c) => kept.has(c));
  }
  return singles;
}

/**
 * Stage 4: assuming Δs and bytes add up, the predicted Pareto frontier of whole models
 * (compiler/budget/combine.ts); the best predicted combinations within the budget, and a few along the
 * frontier at other sizes (for the plot), built and measured on the subset with ms/token.
 */
async function measureCombinations(
  run: SearchRun,
  baseline: MeasuredModel,
  perTensor: ChoiceRecord[][],
  fixedBytes: number,
): Promise<MeasuredModel[]> {
  run.begin("combine");
  const { budget, withSpeed, options } = run;
  const bsPerplexity = baseline.subsetPerplexity;
  const front = combineOptions(perTensor as TensorOption[][], fixedBytes, withSpeed);
  const predictedMs = (dms: number) =>
    baseline.msPerToken === undefined ? undefined : baseline.msPerToken + dms;
  const fits = (c: { bytes: number; dms: number }) =>
    c.bytes <= budget.targetBytes && (!withSpeed || predictedMs(c.dms)! <= budget.maxMsPerToken!);
  const nFeasible = options.feasibleCandidates ?? 8;
  const nSpread = options.spreadCandidates ?? 6;
  let picked = front.filter(fits).sort((a, b) => a.delta - b.delta).slice(0, nFeasible);
  if (picked.length === 0) {
    // Nothing predicted to fit: measure what comes closest, for the report.
    const score = (c: (typeof front)[number]) =>
      violationScore(
        {
          bytes: c.bytes,
          perplexity: bsPerplexity * Math.exp(c.delta),
          msPerToken: predictedMs(c.dms),
        },
        budget,
        bsPerplexity,
      );
    picked = [...front].sort((a, b) => score(a) - score(b)).slice(0, nFeasible);
  }
  const seen = new Set([key(run.f32), ...picked.map((c) => key(c.methods))]);
  if (nSpread > 0 && front.length > 0) {
    const lo = Math.log(front[0].bytes);
    const hi = Math.log(baseline.bytes);
    for (let i = 0; i < nSpread; i++) {
      const level = Math.exp(lo + ((i + 0.5) / nSpread) * (hi - lo));
      const under = front.filter((c) => c.bytes <= level && !seen.has(key(c.methods)));
      const c = under.length ? under.reduce((a, b) => (b.delta < a.delta ? b : a)) : undefined;
      if (c) {
        picked.push(c);
        seen.add(key(c.methods));
      }
    }
  }
  const combined: MeasuredModel[] = [];
  for (const [i, c] of picked.entries()) {
    const m = await run.measure(c.methods, "subset", true);
    combined.push({
      methods: c.methods,
      stage: "combined",
      bytes: m.bytes,
      subsetPerplexity: m.perplexity,
      msPerToken: m.msPerToken,
      predicted: {
        bytes: c.bytes,
        subsetPerplexity: bsPerplexity * Math.exp(c.delta),
        msPerToken: predictedMs(c.dms),
      },
    });
    run.progress(
      "combine",
      i + 1,
      picked.length,
      `${m.bytes} bytes, subset perplexity ${m.perplexity.toFixed(2)} (${
        formatPercent(m.perplexity / bsPerplexity - 1)
      }; ` +
        `predicted ${formatPercent(Math.exp(c.delta) - 1)}), ${m.msPerToken!.toFixed(3)} ms/token`,
    );
  }
  return combined;
}

/**
 * Stage 5: the best few measured models within the size (and speed) budget scored on the full validation
 * text (when none is within it, the closest few, for the report).
 */
async function scoreFinalists(run: SearchRun, baseline: Full, pool: MeasuredModel[]): Promise<Full[]> {
  run.begin("final");
  const { budget, withSpeed } = run;
  const nFinal = run.options.finalists ?? 3;
  const subsetPoint = (m: MeasuredModel) => ({
    bytes: m.bytes,
    perplexity: m.subsetPerplexity,
    msPerToken: m.msPerToken,
  });
  const sizeSpeedOk = (m: MeasuredModel) =>
    m.bytes <= budget.targetBytes && (!withSpeed || m.msPerToken! <= budget.maxMsPerToken!);
  let finalists = pool.filter(sizeSpeedOk).sort((a, b) => a.subsetPerplexity - b.subsetPerplexity).slice(
    0,
    nFinal,
  );
  if (finalists.length === 0) {
    const score = (m: MeasuredModel) => violationScore(subsetPoint(m), budget, baseline.subsetPerplexity);
    finalists = [...pool].sort((a, b) => score(a) - score(b)).slice(0, nFinal);
  }
  for (const [i, m] of finalists.entries()) {
    if (m.validPerplexity === undefined) {
      run.progress("final", i + 1, finalists.length, `scoring the full validation text: ${m.bytes} bytes`);
      m.validPerplexity = (await run.measure(m.methods, "full", false)).perplexity;
    }
    if (withSpeed && m.msPerToken! > budget.maxMsPerToken!) {
      // A noisy machine: one more timing before calling it too slow.
      m.msPerToken = Math.min(m.msPerToken!, await run.retime(m.methods));
    }
    run.progress(
      "final",
      i + 1,
      finalists.length,
      `${m.bytes} bytes, valid perplexity ${m.validPerplexity.toFixed(2)} (${
        formatPercent(m.validPerplexity / baseline.validPerplexity - 1)
      })`,
    );
  }
  return finalists as Full[];
}

/**
 * The decision: the finalist with the lowest full validation perplexity that meets every budget; when
 * none does, the closest (smallest summed relative excess) with the budgets nobody met.
 */
function decide(run: SearchRun, result: SearchResult, pool: MeasuredModel[]): SearchResult {
  const { budget, baseline } = result;
  const full = result.finalists as Full[];
  const fullPoint = (m: Full) => ({
    bytes: m.bytes,
    perplexity: m.validPerplexity,
    msPerToken: m.msPerToken,
  });
  const meeting = full.filter((m) => violations(fullPoint(m), budget, baseline.validPerplexity).length === 0);
  result.seconds = run.seconds();
  if (meeting.length) {
    result.chosen = meeting.reduce((a, b) => (b.validPerplexity < a.validPerplexity ? b : a));
  } else {
    const score = (m: Full) => violationScore(fullPoint(m), budget, baseline.validPerplexity);
    const closest = full.reduce((a, b) => (score(b) < score(a) ? b : a));
    result.closest = {
      ...closest,
      violations: violations(fullPoint(closest), budget, baseline.validPerplexity),
    };
    result.unmet = unmetMessage(result, [...pool], full);
  }
  return result;
}

/** Which budgets no measured model met, with the best value seen for each. */
function unmetMessage(
  result: SearchResult,
  pool: MeasuredModel[],
  finalists: (MeasuredModel & { validPerplexity: number })[],
): string {
  const { budget, baseline } = result;
  const parts: string[] = [];
  const smallest = Math.min(...pool.map((m) => m.bytes));
  if (!pool.some((m) => m.bytes <= budget.targetBytes)) {
    parts.push(
      `--target-size ${budget.targetBytes}: every tensor at its smallest usable choice makes about ` +
        `${result.minimumBytes} bytes (the smallest model measured has ${smallest})`,
    );
  }
  if (budget.maxPplIncrease !== undefined) {
    const limit = baseline.validPerplexity * (1 + budget.maxPplIncrease);
    const best = finalists.filter((m) => m.bytes <= budget.targetBytes)
      .reduce<number>((a, m) => Math.min(a, m.validPerplexity), Infinity);
    if (!(best <= limit)) {
      parts.push(
        `--max-ppl-increase ${+(budget.maxPplIncrease * 100).toPrecision(6)} (valid perplexity ≤ ${
          limit.toFixed(2)
        }): ${
          Number.isFinite(best)
            ? `the best within the size target has ${best.toFixed(2)} (${
              formatPercent(best / baseline.validPerplexity - 1)
            })`
            : "nothing within the size target was scored"
        }`,
      );
    }
  }
  if (budget.maxMsPerToken !== undefined) {
    const fastest = Math.min(...pool.map((m) => m.msPerToken ?? Infinity));
    const fastestFitting = Math.min(
      ...pool.filter((m) => m.bytes <= budget.targetBytes).map((m) => m.msPerToken ?? Infinity),
    );
    if (!(fastestFitting <= budget.maxMsPerToken)) {
      parts.push(
        `--max-ms-per-token ${budget.maxMsPerToken}: the fastest model ${
          Number.isFinite(fastestFitting) ? "within the size target" : "measured"
        } takes ${(Number.isFinite(fastestFitting) ? fastestFitting : fastest).toFixed(3)} ms/token`,
      );
    }
  }
  if (parts.length === 0) {
    parts.push("no single budget is out of reach, but no measured model meets them all at once");
  }
  return parts.join("; ");
}
