/**
 * A compile budget (`--target-size`, `--max-ppl-increase`, `--max-ms-per-token`) and how far a measured
 * model is from meeting it.
 * @module
 */

/** What the chosen model must meet. Only `targetBytes` is required. */
export interface Budget {
  /** File size limit in bytes (the whole `.lem`, as written). */
  targetBytes: number;
  /** Largest allowed perplexity increase over the f32 model, as a fraction (0.05 = 5 %). */
  maxPplIncrease?: number;
  /** Largest allowed stepwise ms/token (feed + logProbs). */
  maxMsPerToken?: number;
}

/** A measured (or estimated) model. */
export interface BudgetPoint {
  bytes: number;
  perplexity: number;
  msPerToken?: number;
}

/** One budget a point misses, with its relative excess (0.1 = 10 % over the limit). */
export interface Violation {
  budget: "size" | "perplexity" | "speed";
  /** The flag that set it. */
  flag: "--target-size" | "--max-ppl-increase" | "--max-ms-per-token";
  excess: number;
}

/**
 * The budgets `point` misses. `basePerplexity` is the f32 model's on the same tokens. A speed limit is
 * missed only when the point has a measured speed.
 */
export function violations(point: BudgetPoint, budget: Budget, basePerplexity: number): Violation[] {
  const out: Violation[] = [];
  if (point.bytes > budget.targetBytes) {
    out.push({ budget: "size", flag: "--target-size", excess: point.bytes / budget.targetBytes - 1 });
  }
  if (budget.maxPplIncrease !== undefined) {
    const limit = basePerplexity * (1 + budget.maxPplIncrease);
    if (!(point.perplexity <= limit)) {
      out.push({ budget: "perplexity", flag: "--max-ppl-increase", excess: point.perplexity / limit - 1 });
    }
  }
  if (budget.maxMsPerToken !== undefined && point.msPerToken !== undefined) {
    if (point.msPerToken > budget.maxMsPerToken) {
      out.push({
        budget: "speed",
        flag: "--max-ms-per-token",
        excess: point.msPerToken / budget.maxMsPerToken - 1,
      });
    }
  }
  return out;
}

/** Sum of the relative excesses: 0 when the point meets the budget; "closest" means smallest. */
export function violationScore(point: BudgetPoint, budget: Budget, basePerplexity: number): number {
  return violations(point, budget, basePerplexity).reduce(
    (s, v) => s + (Number.isFinite(v.excess) ? v.excess : 1e9),
    0,
  );
}

/** The budget as the flags that set it, e.g. `--target-size 3000000 --max-ppl-increase 5`. */
export function describeBudget(budget: Budget): string {
  return [
    `--target-size ${budget.targetBytes}`,
    budget.maxPplIncrease === undefined
      ? ""
      : `--max-ppl-increase ${+(budget.maxPplIncrease * 100).toPrecision(6)}`,
    budget.maxMsPerToken === undefined ? "" : `--max-ms-per-token ${budget.maxMsPerToken}`,
  ].filter((s) => s).join(" ");
}
