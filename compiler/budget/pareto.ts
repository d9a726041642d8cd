/**
 * The Pareto frontier: the items no other item beats in every objective (all objectives minimized).
 * Used twice by the budget search: on predicted combinations of per-tensor choices (bytes, Δ log-PPL,
 * Δ ms) and on measured models (bytes, perplexity, ms/token).
 * @module
 */

/** A number to minimize, read from an item. */
export type Objective<T> = (item: T) => number;

/** Whether `a` dominates `b`: no worse in every objective and better in at least one. */
export function dominates<T>(a: T, b: T, objectives: readonly Objective<T>[]): boolean {
  let better = false;
  for (const f of objectives) {
    const x = f(a);
    const y = f(b);
    if (x > y) return false;
    if (x < y) better = true;
  }
  return better;
}

/**
 * The non-dominated items, ordered by the first objective (then the next ones). Of items equal in every
 * objective the first one given is kept. NaN in an objective counts as +Infinity (worst).
 *
 * @example
 * ```ts
 * const points = [{ bytes: 3, ppl: 120 }, { bytes: 5, ppl: 118 }, { bytes: 6, ppl: 125 }];
 * paretoFront(points, [(p) => p.bytes, (p) => p.ppl]); // the first two: the third is beaten by both
 * ```
 */
export function paretoFront<T>(items: readonly T[], objectives: readonly Objective<T>[]): T[] {
  if (objectives.length === 0) throw new Error("paretoFront: give at least one objective");
  const value = (f: Objective<T>) => (item: T) => {
    const v = f(item);
    return Number.isNaN(v) ? Infinity : v;
  };
  const fs = objectives.map(value);
  const order = items.map((item, i) => ({ item, i })).sort((a, b) => {
    for (const f of fs) {
      const d = f(a.item) - f(b.item);
      if (d !== 0 && !Number.isNaN(d)) return d;
    }
    return a.i - b.i;
  });
  const kept: T[] = [];
  for (const { item } of order) {
    // Sorted lexicographically, so an item can only be dominated (or equalled) by one kept before it.
    if (kept.some((k) => dominates(k, item, fs) || fs.every((f) => f(k) === f(item)))) continue;
    kept.push(item);
  }
  return kept;
}
