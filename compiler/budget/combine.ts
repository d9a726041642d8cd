/**
 * Combining per-tensor choices under the additivity assumption: a model's bytes are the fixed part plus
 * each tensor's encoded bytes (exact up to alignment padding), its Δ log-perplexity the sum of each
 * tensor's Δ measured alone (an approximation: errors interact), its Δ ms/token the sum likewise.
 * The result is the predicted Pareto frontier over every combination — a multiple-choice knapsack
 * solved by merging one tensor at a time and dropping dominated partial combinations, so it stays small
 * (hundreds of points) where the full product has (menu size)^(tensors) members.
 * @module
 */
import { paretoFront } from "./pareto.ts";

/** One measured choice for one tensor (f32 included, with delta 0). */
export interface TensorOption {
  method: string;
  /** Encoded bytes of the tensor. */
  bytes: number;
  /** ln(PPL with only this tensor compressed) − ln(PPL of f32), on the subset. */
  delta: number;
  /** ms/token with only this tensor compressed minus f32's (0 when speed is not measured). */
  dms?: number;
}

/** A predicted model: one method per tensor. */
export interface Combination {
  methods: string[];
  /** Predicted file bytes. */
  bytes: number;
  /** Predicted Δ log-perplexity (sum over tensors). */
  delta: number;
  /** Predicted Δ ms/token (sum over tensors). */
  dms: number;
}

interface Partial {
  choice: number[];
  bytes: number;
  delta: number;
  dms: number;
}

function thin<T>(items: T[], max: number): T[] {
  if (items.length <= max) return items;
  return Array.from({ length: max }, (_, i) => items[Math.round((i * (items.length - 1)) / (max - 1))]);
}

/**
 * The predicted Pareto frontier of whole-model combinations over (bytes, delta) — and dms too when
 * `withSpeed` — sorted by bytes. `fixedBytes` is what the file holds besides the weight matrices.
 * Partial frontiers longer than `maxFront` are thinned evenly along bytes.
 *
 * @example
 * ```ts
 * const front = combineOptions([
 *   [{ method: "f32", bytes: 800, delta: 0 }, { method: "int8", bytes: 200, delta: 0.001 }],
 *   [{ method: "f32", bytes: 400, delta: 0 }, { method: "int4", bytes: 60, delta: 0.02 }],
 * ], 100, false);
 * // [{ methods: ["int8", "int4"], bytes: 360, … }, { methods: ["int8", "f32"], bytes: 700, … }, …]
 * ```
 */
export function combineOptions(
  options: readonly (readonly TensorOption[])[],
  fixedBytes: number,
  withSpeed: boolean,
  maxFront = 4000,
): Combination[] {
  const objectives = withSpeed
    ? [(p: Partial) => p.bytes, (p: Partial) => p.delta, (p: Partial) => p.dms]
    : [(p: Partial) => p.bytes, (p: Partial) => p.delta];
  let front: Partial[] = [{ choice: [], bytes: fixedBytes, delta: 0, dms: 0 }];
  for (const [t, opts] of options.entries()) {
    if (opts.length === 0) throw new Error(`combineOptions: tensor ${t} has no option`);
    const next: Partial[] = [];
    for (const p of front) {
      opts.forEach((o, j) => {
        next.push({
          choice: [...p.choice, j],
          bytes: p.bytes + o.bytes,
          delta: p.delta + o.delta,
          dms: p.dms + (withSpeed ? o.dms ?? 0 : 0),
        });
      });
    }
    front = thin(paretoFront(next, objectives), maxFront);
  }
  return front.map((p) => ({
    methods: p.choice.map((j, t) => options[t][j].method),
    bytes: p.bytes,
    delta: p.delta,
    dms: p.dms,
  }));
}
