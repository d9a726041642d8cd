/**
 * How fast a model decodes, measured one way everywhere (the budget search's ms/token, tradeoff, bench):
 * stepwise — from the zero state, per token `feed` then `logProbs` (the next-token distribution, as a
 * keyboard needs it) — and over a sequence (`logits` of all tokens at once, matrix × matrix).
 * @module
 */
import type { LstmModel } from "./model.ts";

/** Milliseconds per token of one stepwise pass over `ids` from the zero state (feed + logProbs each). */
export function stepwiseMsPerToken(model: LstmModel, ids: readonly number[]): number {
  const t0 = performance.now();
  const state = model.createState();
  for (const id of ids) {
    model.feed(state, id);
    model.logProbs(state);
  }
  return (performance.now() - t0) / ids.length;
}

/** Milliseconds per token of one sequence pass (`logits` of every token of `ids`). */
export function sequenceMsPerToken(model: LstmModel, ids: readonly number[]): number {
  const t0 = performance.now();
  model.logits(ids);
  return (performance.now() - t0) / ids.length;
}

/** The smallest of `repeats` measurements: on a shared machine the fastest run is the least disturbed. */
export function bestOf(repeats: number, measure: () => number): number {
  let best = Infinity;
  for (let r = 0; r < repeats; r++) best = Math.min(best, measure());
  return best;
}
