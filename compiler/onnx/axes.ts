/**
 * Symbolic axes of the tensors on the data path (token ids → embedding → LSTMs → logits).
 *
 * The importer does not know the run-time sequence length or batch size, but it must make sure that the
 * glue between the recognized operators (Transpose, Squeeze, Unsqueeze, Reshape, Flatten) only moves those
 * axes around and never mixes them with the feature axis — otherwise the model it produces would be
 * silently wrong. So every axis of a path tensor is tracked as either
 *  - the feature axis, with its (static) size: embedding dim, hidden size, vocabulary size; or
 *  - a product of "factors": the token input's axes by name (`tokens[0]`, `tokens[1]`), in row-major
 *    order; `[]` is a size-1 axis (an inserted unit axis, or a token axis declared with size 1).
 *
 * Reshape targets are often computed at run time from `Shape` (PyTorch's `y.reshape(-1, y.size(-1))`), so
 * {@link ShapeEvaluator} evaluates such small integer subgraphs symbolically: `Shape(x)[i]` is the factor
 * list of x's axis i, or the feature size.
 * @module
 */

import { slice } from "./constants.ts";
import { attrInt, attrInts, describeNode, type OnnxGraph } from "./graph.ts";
import { type Tensor, toIntegers } from "./proto.ts";

/** One axis of a tensor on the data path. */
export type Axis = { kind: "feature"; size: number } | { kind: "dims"; factors: string[] };

/** A size-1 axis. */
export const UNIT: Axis = { kind: "dims", factors: [] };

/** An entry of a symbolic shape vector: a known integer or a product of token-axis factors (non-empty). */
export type DimValue = number | string[];

/** A symbolic integer tensor of rank 0 or 1 (what shape computations produce). */
export interface ShapeValue {
  rank: 0 | 1;
  values: DimValue[];
}

/** `[tokens[1], 1, feature 8]` */
export function formatAxes(axes: readonly Axis[]): string {
  return `[${axes.map(formatAxis).join(", ")}]`;
}

function formatAxis(a: Axis): string {
  if (a.kind === "feature") return `feature ${a.size}`;
  return a.factors.length === 0 ? "1" : a.factors.join("·");
}

function formatValue(v: DimValue): string {
  return typeof v === "number" ? String(v) : v.join("·");
}

function sameFactors(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function norm(axis: number, rank: number, what: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`${what}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Transpose: output axis i is input axis perm[i] (default: reversed). */
export function transposeAxes(axes: readonly Axis[], perm: readonly number[] | undefined): Axis[] {
  const p = perm ?? axes.map((_, i) => axes.length - 1 - i);
  if (p.length !== axes.length || new Set(p).size !== p.length || p.some((x) => x < 0 || x >= axes.length)) {
    throw new Error(
      `perm [${p.join(", ")}] is not a permutation of the ${axes.length} axes ${formatAxes(axes)}`,
    );
  }
  return p.map((i) => axes[i]);
}

/** Unsqueeze: inserts size-1 axes (axes refer to the output). */
export function unsqueezeAxes(axes: readonly Axis[], inserted: readonly number[]): Axis[] {
  const rank = axes.length + inserted.length;
  const at = new Set(inserted.map((a) => norm(a, rank, "Unsqueeze")));
  const out: Axis[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(at.has(i) ? UNIT : axes[k++]);
  return out;
}

/**
 * Squeeze: removes size-1 axes. An axis made of token factors cannot be squeezed (its size is only known at
 * run time); without `removed`, every known size-1 axis goes, and token axes must not be present.
 */
export function squeezeAxes(axes: readonly Axis[], removed: readonly number[] | undefined): Axis[] {
  const isUnit = (a: Axis) => a.kind === "dims" && a.factors.length === 0;
  if (!removed || removed.length === 0) {
    if (axes.some((a) => a.kind === "dims" && a.factors.length > 0)) {
      throw new Error(
        `Squeeze without axes on ${
          formatAxes(axes)
        } would depend on the run-time sequence length / batch size`,
      );
    }
    return axes.filter((a) => !isUnit(a));
  }
  const at = new Set(removed.map((a) => norm(a, axes.length, "Squeeze")));
  for (const i of at) {
    if (!isUnit(axes[i])) {
      throw new Error(
        `cannot squeeze axis ${i} (${formatAxis(axes[i])}) of ${formatAxes(axes)}: it is not of size 1`,
      );
    }
  }
  return axes.filter((_, i) => !at.has(i));
}

/** Flatten(axis): [prod(axes before), prod(axes from `axis`)]; the feature axis must be alone in the second. */
export function flattenAxes(axes: readonly Axis[], axis: number): Axis[] {
  const k = axis < 0 ? axis + axes.length : axis;
  const f = featureIndex(axes);
  if (k !== axes.length - 1 || f !== axes.length - 1) {
    throw new Error(
      `Flatten(axis ${axis}) of ${formatAxes(axes)} would merge the feature axis with other axes`,
    );
  }
  return [{ kind: "dims", factors: axes.slice(0, k).flatMap(factorsOf) }, axes[f]];
}

function factorsOf(a: Axis): string[] {
  if (a.kind === "feature") throw new Error("internal: feature axis in a factor list");
  return a.factors;
}

/** Index of the feature axis (exactly one exists on the data path). */
export function featureIndex(axes: readonly Axis[]): number {
  const i = axes.findIndex((a) => a.kind === "feature");
  if (i < 0) throw new Error(`internal: no feature axis in ${formatAxes(axes)}`);
  return i;
}

/**
 * Reshape with a (possibly symbolic) target shape. The feature axis must stay the last axis with the same
 * size; the leading axes may be merged or split as long as their factors stay in row-major order.
 */
export function reshapeAxes(axes: readonly Axis[], target: readonly DimValue[], allowzero: boolean): Axis[] {
  const n = axes.length;
  const m = target.length;
  const f = featureIndex(axes);
  const fail = (why: string) =>
    new Error(`Reshape of ${formatAxes(axes)} to [${target.map(formatValue).join(", ")}]: ${why}`);
  if (f !== n - 1) throw fail("the feature axis must be the last axis");
  const feature = axes[f] as { kind: "feature"; size: number };
  if (m === 0) throw fail("the target has no axes");
  const last = target[m - 1];
  const copiesFeature = last === 0 && !allowzero && m === n;
  // Leading entries → factor lists (undefined marks the single -1).
  const lead: (string[] | undefined)[] = [];
  for (let i = 0; i < m - 1; i++) {
    const v = target[i];
    if (typeof v !== "number") lead.push(v);
    else if (v === 0 && !allowzero) {
      if (i >= n - 1) throw fail(`entry ${i} copies input axis ${i}, which is not a leading axis`);
      lead.push(factorsOf(axes[i]));
    } else if (v === 1) lead.push([]);
    else if (v === -1) lead.push(undefined);
    else throw fail(`static size ${v} at position ${i} cannot be matched to the sequence/batch axes`);
  }
  const inputFactors = axes.slice(0, n - 1).flatMap(factorsOf);
  const holes = lead.filter((x) => x === undefined).length;
  if (holes > 1 || (holes === 1 && last === -1)) throw fail("more than one -1");
  if (!(last === feature.size || copiesFeature || last === -1)) {
    throw fail(`the last axis must keep the feature size ${feature.size}`);
  }
  const out: Axis[] = [];
  if (holes === 0) {
    const flat = lead.flatMap((x) => x!);
    if (!sameFactors(flat, inputFactors)) {
      throw fail(`the leading axes hold [${flat.join(", ")}], not [${inputFactors.join(", ")}]`);
    }
    for (const x of lead) out.push({ kind: "dims", factors: x! });
  } else {
    const p = lead.indexOf(undefined);
    const before = lead.slice(0, p).flatMap((x) => x!);
    const after = lead.slice(p + 1).flatMap((x) => x!);
    const ok = before.length + after.length <= inputFactors.length &&
      sameFactors(before, inputFactors.slice(0, before.length)) &&
      sameFactors(after, inputFactors.slice(inputFactors.length - after.length));
    if (!ok) throw fail(`the leading axes cannot be matched to [${inputFactors.join(", ")}]`);
    const middle = inputFactors.slice(before.length, inputFactors.length - after.length);
    lead.forEach((x) => out.push({ kind: "dims", factors: x ?? middle }));
  }
  out.push(feature);
  return out;
}

/**
 * Evaluates small integer subgraphs (shape computations) symbolically. `axesOf` gives the symbolic axes
 * of data-path tensors, which `Shape` reads.
 */
export class ShapeEvaluator {
  readonly #memo = new Map<string, ShapeValue>();

  constructor(
    private readonly graph: OnnxGraph,
    private readonly consts: ReadonlyMap<string, Tensor>,
    private readonly axesOf: (name: string) => readonly Axis[] | undefined,
  ) {}

  /** The value of an integer tensor of rank ≤ 1, with symbolic entries where it depends on run-time sizes. */
  value(name: string): ShapeValue {
    const hit = this.#memo.get(name);
    if (hit) return hit;
    const v = this.#compute(name);
    this.#memo.set(name, v);
    return v;
  }

  #compute(name: string): ShapeValue {
    const c = this.consts.get(name);
    if (c) {
      if (c.dims.length > 1) {
        throw new Error(`"${name}" is a rank-${c.dims.length} tensor, not a shape vector`);
      }
      return { rank: c.dims.length as 0 | 1, values: toIntegers(c) };
    }
    const p = this.graph.producer(name);
    if (!p) throw new Error(`"${name}" is a graph input; a shape must be computable from the model`);
    const node = p.node;
    const inputs = node.input ?? [];
    const cannot = (why: string) => new Error(`${describeNode(node)} computing "${name}": ${why}`);
    switch (node.opType) {
      case "Shape": {
        const axes = this.axesOf(inputs[0]);
        if (!axes) {
          throw cannot(`it reads the shape of "${inputs[0]}", which is not on the token → logits path`);
        }
        const r = axes.length;
        const clamp = (a: number) => Math.min(Math.max(a < 0 ? a + r : a, 0), r);
        const start = clamp(attrInt(node, "start", 0));
        const end = clamp(attrInt(node, "end", r));
        const values = axes.slice(start, Math.max(start, end)).map((a): DimValue =>
          a.kind === "feature" ? a.size : a.factors.length === 0 ? 1 : a.factors
        );
        return { rank: 1, values };
      }
      case "Identity":
      case "Cast":
        return this.value(inputs[0]);
      case "Gather": {
        const data = this.value(inputs[0]);
        const idx = this.consts.get(inputs[1]);
        if (data.rank !== 1 || !idx || attrInt(node, "axis", 0) !== 0) throw cannot("unsupported Gather");
        const pick = toIntegers(idx).map((i) => {
          const j = i < 0 ? i + data.values.length : i;
          if (j < 0 || j >= data.values.length) throw cannot(`index ${i} out of range`);
          return data.values[j];
        });
        return { rank: idx.dims.length === 0 ? 0 : 1, values: pick };
      }
      case "Unsqueeze": {
        const v = this.value(inputs[0]);
        const axes = inputs[1] ? toIntegers(this.#const(inputs[1], cannot)) : attrInts(node, "axes");
        if (v.rank !== 0 || !axes || axes.length !== 1 || (axes[0] !== 0 && axes[0] !== -1)) {
          throw cannot("only a scalar → [1] Unsqueeze is supported in shape computations");
        }
        return { rank: 1, values: v.values };
      }
      case "Squeeze": {
        const v = this.value(inputs[0]);
        if (v.rank !== 1 || v.values.length !== 1) throw cannot("only a [1] → scalar Squeeze is supported");
        return { rank: 0, values: v.values };
      }
      case "Concat": {
        const parts = inputs.filter((i) => i).map((i) => this.value(i));
        if (parts.some((q) => q.rank !== 1)) throw cannot("only 1-D concatenation is supported");
        return { rank: 1, values: parts.flatMap((q) => q.values) };
      }
      case "Slice": {
        const v = this.value(inputs[0]);
        if (v.rank !== 1) throw cannot("only 1-D slices are supported");
        const ints = (i: number, attr: string) =>
          inputs.length > 1
            ? (inputs[i] ? toIntegers(this.#const(inputs[i], cannot)) : undefined)
            : attrInts(node, attr);
        const starts = ints(1, "starts");
        const ends = ints(2, "ends");
        if (!starts || !ends) throw cannot("starts/ends missing");
        const positions: Tensor = {
          name: "",
          dtype: "int32",
          dims: [v.values.length],
          data: Int32Array.from(v.values, (_, i) => i),
        };
        const picked = slice(
          positions,
          starts,
          ends,
          ints(3, "axes"),
          inputs.length > 4 ? ints(4, "steps") : undefined,
        );
        return { rank: 1, values: Array.from(picked.data as Int32Array, (i) => v.values[i]) };
      }
      case "Mul": {
        const a = this.value(inputs[0]);
        const b = this.value(inputs[1]);
        const len = Math.max(a.values.length, b.values.length);
        if (
          a.values.length !== len && a.values.length !== 1 || b.values.length !== len && b.values.length !== 1
        ) {
          throw cannot("operands do not broadcast");
        }
        const values = Array.from({ length: len }, (_, i) => {
          const x = a.values[a.values.length === 1 ? 0 : i];
          const y = b.values[b.values.length === 1 ? 0 : i];
          if (typeof x === "number" && typeof y === "number") return x * y;
          if (x === 1) return y;
          if (y === 1) return x;
          if (typeof x !== "number" && typeof y !== "number") return [...x, ...y];
          throw cannot(`cannot multiply a sequence/batch size by ${typeof x === "number" ? x : y}`);
        });
        return { rank: Math.max(a.rank, b.rank) as 0 | 1, values };
      }
      default:
        throw cannot(`operator ${node.opType} is not supported in shape computations`);
    }
  }

  #const(name: string, cannot: (why: string) => Error): Tensor {
    const t = this.consts.get(name);
    if (!t) throw cannot(`"${name}" is not a constant`);
    return t;
  }
}
